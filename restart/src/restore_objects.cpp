// Epoll interest lists are registered inside the child: an item is keyed by
// (file, fd number), so it must name the child's descriptors, which exist only
// there. The epoll instances themselves were created by the restarter
// (object_factory.cpp) and are already at their numbers.
#include <sys/epoll.h>
#include <sys/syscall.h>

#include <cerrno>
#include <iostream>

#include "phases.h"
#include "remote_syscalls.h"

namespace ckptsim::restart {

void restore_objects(Tracee& t, const Image& img) {
  RemoteSyscalls remote(t);
  for (const auto& fd : img.fds) {
    if (!fd.object || fd.object->type != "epoll" || fd.object->dup_of >= 0) continue;
    for (const auto& item : fd.object->items) {
      epoll_event ev{};
      ev.events = item.events;
      ev.data.u64 = item.data;
      remote.forget_pushed();
      const long r = remote.syscall(SYS_epoll_ctl, fd.fd, EPOLL_CTL_ADD, item.fd, remote.push(&ev, sizeof ev));
      // EPERM: the target became /dev/null (--skip-unrestorable), which cannot be polled.
      if (r == -EPERM) {
        std::cerr << "ckptsim: warning: epoll fd " << fd.fd << " no longer watches fd " << item.fd << "\n";
        continue;
      }
      if (r < 0)
        remote.check("cannot register fd " + std::to_string(item.fd) + " in epoll fd " + std::to_string(fd.fd),
                     SYS_epoll_ctl, fd.fd, EPOLL_CTL_ADD, item.fd, remote.push(&ev, sizeof ev));
    }
  }
}

}  // namespace ckptsim::restart
