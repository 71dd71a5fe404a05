#include "file_hash.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <xxhash.h>

#include "util/hex.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {

std::optional<std::string> xxh3_of_file(const std::filesystem::path& p, uint64_t* size_out) {
  util::OwnedFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  return xxh3_of_fd(fd.get(), size_out);
}

std::optional<std::string> xxh3_of_fd(int raw_fd, uint64_t* size_out) {
  struct stat st {};
  if (::fstat(raw_fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  if (size_out) *size_out = static_cast<uint64_t>(st.st_size);
  if (st.st_size == 0) return util::xxh3_hex("", 0);
  void* m = ::mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, raw_fd, 0);
  if (m == MAP_FAILED) return std::nullopt;
  ::madvise(m, st.st_size, MADV_SEQUENTIAL);
  std::string h = util::xxh3_hex(m, st.st_size);
  ::munmap(m, st.st_size);
  return h;
}

}  // namespace ckptsim::restart
