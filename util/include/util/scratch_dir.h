// A scratch directory that goes away with everything in it on every way out
// (error, exception, Ctrl-C unwinding): images and logs are big, and a
// directory left behind by a failed run is one nobody will clean.
#pragma once
#include <filesystem>
#include <string>

namespace ckptsim::util {

class ScratchDir {
 public:
  // Owns nothing; `if (!dir)` is true.
  ScratchDir() = default;
  // Takes charge of an existing path (made by the caller, or about to be):
  // it is removed on destruction unless kept.
  explicit ScratchDir(std::filesystem::path owned) : path_(std::move(owned)) {}
  // A new directory from mkdtemp (mode 0700: no one else reads our images).
  // `templ` ends in XXXXXX. On failure the result owns nothing and errno says
  // why; the caller words the error, since each says what the directory was for.
  static ScratchDir create(std::string templ);
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ScratchDir(ScratchDir&& o) noexcept;
  ScratchDir& operator=(ScratchDir&& o) noexcept;
  // Never throws: it runs while unwinding.
  ~ScratchDir();

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return path_ / rel; }
  explicit operator bool() const { return !path_.empty(); }
  // Leave the directory on disk (the user asked to keep it, or it became the result).
  void keep() { kept_ = true; }

 private:
  std::filesystem::path path_;
  bool kept_ = false;
};

// $TMPDIR if set and non-empty, else `fallback`.
std::filesystem::path tmpdir_or(const std::filesystem::path& fallback);

}  // namespace ckptsim::util
