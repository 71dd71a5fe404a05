// The scratch directory every test module uses.
#pragma once
#include <errno.h>

#include <filesystem>
#include <string>
#include <system_error>

#include "util/scratch_dir.h"

namespace ckptsim::test {

// A fresh directory from mkdtemp (so mode 0700, and no two tests share one),
// removed with everything in it when the object goes (never throwing: a test
// that fails inside it must not turn into std::terminate while unwinding).
class TempDir {
 public:
  TempDir() {
    // $TMPDIR is honoured so a run can be moved off a small /tmp. The name
    // carries the test executable's so that a directory left behind by a
    // killed run (ctest timeout) says which module it came from.
    const std::string tmpl =
        (util::tmpdir_or("/tmp") / ("ckptsim-" + std::string(program_invocation_short_name) + "-XXXXXX")).string();
    dir_ = util::ScratchDir::create(tmpl);
    if (!dir_) throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
  }

  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;  // a moved-from TempDir would make dir / "x" relative
  TempDir& operator=(TempDir&&) = delete;

  const std::filesystem::path& path() const { return dir_.path(); }
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return dir_ / rel; }

 private:
  util::ScratchDir dir_;  // one owner: not copyable
};

}  // namespace ckptsim::test
