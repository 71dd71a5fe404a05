// Recreates kernel objects in the restarter (pipes with their bytes, socket
// pairs with theirs, eventfd, timerfd, signalfd, epoll without its items,
// memfds and unlinked files with their content); fd_plan hands them to the
// child. Objects shared by several descriptions (both ends of a pipe, a
// socket and its peer) are created once, on first use.
#pragma once
#include <cstdint>
#include <map>

#include "image.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {

class ObjectFactory {
 public:
  explicit ObjectFactory(const Image& img) : img_(img) {}
  // A new open file description like fd's (fd.object set, not a dup_of one).
  util::OwnedFd open(const FdEntry& fd);
  // The file behind a MAP_SHARED mapping of a deleted file no fd holds.
  util::OwnedFd open_mapped(const SharedFile& sf);

 private:
  util::OwnedFd pipe_end(const FdEntry& fd);
  util::OwnedFd socket(const FdEntry& fd);
  util::OwnedFd file(const FdEntry& fd);
  const FdEntry* holder_of_data(const std::string& type, uint64_t id) const;

  const Image& img_;
  std::map<uint64_t, util::OwnedFd> pipes_;    // pipe id -> a read end of the new pipe
  std::map<uint64_t, util::OwnedFd> sockets_;  // socket id -> the new socket
  std::map<uint64_t, util::OwnedFd> files_;    // memfd/unlinked id -> the new file
};

}  // namespace ckptsim::restart
