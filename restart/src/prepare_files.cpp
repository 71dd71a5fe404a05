// Files go back to what they were at the checkpoint, so that what the killed
// run wrote afterwards is undone. Written in place (same inode: other holders
// and hard links see it) and only when they differ; recreated with their
// directories when they are gone (the image was moved to another node).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "file_hash.h"
#include "phases.h"

namespace ckptsim::restart {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& what) { throw RestoreError(what + ": " + std::strerror(errno)); }

bool is_deleted(const std::string& path) {
  static const std::string suffix = " (deleted)";
  return path.size() > suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void restore_content(const fs::path& target, const fs::path& copy, uint64_t size, const std::string& xxh3) {
  uint64_t current_size = 0;
  auto current = xxh3_of_file(target, &current_size);
  if (current && current_size == size && *current == xxh3) return;

  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) throw RestoreError("cannot create " + target.parent_path().string() + ": " + ec.message());
  ScopedFd src(::open(copy.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.is_open()) fail("cannot read " + copy.string());
  ScopedFd dst(::open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  if (!dst.is_open()) fail("cannot restore " + target.string());
  loff_t in_off = 0, out_off = 0;
  while (static_cast<uint64_t>(in_off) < size) {
    ssize_t n = ::copy_file_range(src.get(), &in_off, dst.get(), &out_off, size - in_off, 0);
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)) {
      char buf[1 << 16];
      n = ::pread(src.get(), buf, sizeof buf, in_off);
      if (n > 0 && ::pwrite(dst.get(), buf, n, out_off) != n) fail("cannot write " + target.string());
      if (n > 0) in_off += n, out_off += n;
    } else if (n < 0) {
      fail("cannot write " + target.string());
    }
    if (n == 0) throw RestoreError("short copy while restoring " + target.string());
  }
  if (::ftruncate(dst.get(), static_cast<off_t>(size)) != 0) fail("cannot truncate " + target.string());
}

}  // namespace

void prepare_files(const Image& img) {
  std::error_code ec;
  fs::create_directories(img.cwd, ec);
  if (ec) throw RestoreError("cannot recreate the working directory " + img.cwd + ": " + ec.message());
  std::set<std::string> done;
  for (const auto& fd : img.fds) {
    if (fd.kind != "regular" || is_deleted(fd.path) || !done.insert(fd.path).second) continue;
    restore_content(fd.path, img.dir / fd.copy, fd.size, fd.xxh3);
  }
  for (const auto& sf : img.shared_files) {
    if (is_deleted(sf.path) || !done.insert(sf.path).second) continue;
    restore_content(sf.path, img.dir / sf.copy, sf.size, sf.xxh3);
  }
}

}  // namespace ckptsim::restart
