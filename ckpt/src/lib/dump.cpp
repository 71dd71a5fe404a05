// One checkpoint from start to end, as the signal handler runs it.
#include <time.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

bool stop_threads(Dump& d) {
  const char* why = nullptr;
  int err = 0;
  if (!threads::stop_others(d.sig, d.uc, &d.roster, &why, &err)) return d.fail(why, -err);
  return true;
}

}  // namespace

void run_checkpoint(const Config& cfg, int sig, ucontext_t* uc) {
  Dump d{};
  d.cfg = &cfg;
  d.sig = sig;
  d.uc = uc;
  d.dirfd = d.tmpfd = d.filesfd = -1;
  struct timespec now {};
  sys::clock_gettime(CLOCK_REALTIME, &now);
  d.created_ns = uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec);

  // Facts first (before this dump opens anything the fd table would show),
  // then the image, which becomes visible only in commit_image.
  const bool ok = stop_threads(d) && map_scratch(d) && read_process(d) && read_fd_table(d) && begin_image(d) &&
                  write_core(d) && save_kernel_objects(d) && copy_files(d) && write_manifest(d) && commit_image(d);
  if (!ok) abandon_image(d);
  if (d.filesfd >= 0) sys::close(d.filesfd);
  if (d.tmpfd >= 0) sys::close(d.tmpfd);
  if (d.dirfd >= 0) sys::close(d.dirfd);
  unmap_scratch(d);
  threads::release_all();
}

}  // namespace ckptlib
