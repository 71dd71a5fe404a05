// Recreates kernel objects in the restarter (pipes with their bytes, socket
// pairs with theirs, eventfd, timerfd, signalfd, epoll without its items,
// memfds and unlinked files with their content); fd_plan hands them to the
// child. Objects shared by several descriptions (both ends of a pipe, a
// socket and its peer) are created once, on first use. One factory serves a
// whole process tree: a pipe between two processes is created once, and its
// queued bytes are refilled once, from the first image (in tree order) that
// holds them.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "image.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {

class ObjectFactory {
 public:
  explicit ObjectFactory(std::vector<const Image*> images) : images_(std::move(images)) {}
  // A new open file description like fd's (fd.object set, not a dup_of one).
  util::OwnedFd open(const FdEntry& fd);
  // The file behind a MAP_SHARED mapping of a deleted file no fd holds.
  util::OwnedFd open_mapped(const Image& img, const SharedFile& sf);

 private:
  util::OwnedFd pipe_end(const FdEntry& fd);
  util::OwnedFd socket(const FdEntry& fd);
  util::OwnedFd file(const FdEntry& fd);
  // The image and descriptor that saved the bytes queued in object `id`.
  std::pair<const Image*, const FdEntry*> holder_of_data(const std::string& type, uint64_t id) const;
  const Image& image_of(const FdEntry& fd) const;

  std::vector<const Image*> images_;
  std::map<uint64_t, util::OwnedFd> pipes_;    // pipe id -> a read end of the new pipe
  std::map<uint64_t, util::OwnedFd> sockets_;  // socket id -> the new socket
  std::map<uint64_t, util::OwnedFd> files_;    // memfd/unlinked id -> the new file
  std::map<std::pair<std::string, std::string>, util::OwnedFd> mapped_;  // (path, xxh3) -> a mapped-only file
};

}  // namespace ckptsim::restart
