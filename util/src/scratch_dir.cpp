#include "util/scratch_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace ckptsim::util {

namespace fs = std::filesystem;

ScratchDir ScratchDir::create(std::string templ) {
  if (!::mkdtemp(templ.data())) return ScratchDir();
  return ScratchDir(fs::path(templ));
}

ScratchDir::ScratchDir(ScratchDir&& o) noexcept
    : path_(std::exchange(o.path_, fs::path())), kept_(o.kept_) {}

ScratchDir& ScratchDir::operator=(ScratchDir&& o) noexcept {
  if (this != &o) {
    ScratchDir old(std::move(*this));
    path_ = std::exchange(o.path_, fs::path());
    kept_ = o.kept_;
  }
  return *this;
}

ScratchDir::~ScratchDir() {
  if (path_.empty() || kept_) return;
  const int saved = errno;  // a failed create's errno must survive the temporaries
  std::error_code ec;
  fs::remove_all(path_, ec);
  errno = saved;
}

fs::path tmpdir_or(const fs::path& fallback) {
  const char* t = ::getenv("TMPDIR");
  return t && *t ? fs::path(t) : fallback;
}

}  // namespace ckptsim::util
