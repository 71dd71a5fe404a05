#include "copy_bytes.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "restart/restart.h"

namespace ckptsim::restart {

void copy_bytes(int src, int dst, uint64_t size, const std::string& what) {
  loff_t in_off = 0, out_off = 0;
  while (static_cast<uint64_t>(in_off) < size) {
    ssize_t n = ::copy_file_range(src, &in_off, dst, &out_off, size - in_off, 0);
    if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP)) {
      char buf[1 << 16];
      n = ::pread(src, buf, sizeof buf, in_off);
      if (n > 0 && ::pwrite(dst, buf, n, out_off) != n) throw RestoreError("cannot write " + what + ": " + std::strerror(errno));
      if (n > 0) in_off += n, out_off += n;
    } else if (n < 0) {
      throw RestoreError("cannot write " + what + ": " + std::strerror(errno));
    }
    if (n == 0) throw RestoreError("short copy while restoring " + what);
  }
}

}  // namespace ckptsim::restart
