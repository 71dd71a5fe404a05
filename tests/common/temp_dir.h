// The scratch directory every test module uses.
#pragma once
#include <errno.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace ckptsim::test {

// A fresh directory from mkdtemp (so mode 0700, and no two tests share one),
// removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    // $TMPDIR is honoured so a run can be moved off a small /tmp. The name
    // carries the test executable's so that a directory left behind by a
    // killed run (ctest timeout) says which module it came from.
    const char* base = ::getenv("TMPDIR");
    std::string tmpl = (std::filesystem::path(base && *base ? base : "/tmp") /
                        ("ckptsim-" + std::string(program_invocation_short_name) + "-XXXXXX"))
                           .string();
    if (!::mkdtemp(tmpl.data())) throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    path_ = tmpl;
  }
  // Never throws: a test that fails inside this directory must not turn into
  // std::terminate while unwinding.
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  // One owner: a copy's destructor would delete the directory under the other.
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

}  // namespace ckptsim::test
