// A kernel object behind a descriptor, as the manifest's fds[].object
// describes it (docs/image-format.md "fds[].object"): pipes, eventfd, epoll,
// timerfd, signalfd, unix socket pairs, memfds and unlinked files.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ckptsim::restart {

struct EpollItem {
  int fd = -1;          // target, by its number in the restored process
  uint32_t events = 0;  // EPOLLIN... with EPOLLET/EPOLLONESHOT bits as the kernel keeps them
  uint64_t data = 0;
};

struct ObjectData {  // bytes queued in a pipe or in a socket's receive queue
  std::string file, xxh3;
  uint64_t size = 0;
};

struct KernelObject {
  std::string type;  // pipe, eventfd, epoll, timerfd, signalfd, unix_socket, memfd, unlinked
  int dup_of = -1;   // an earlier fd sharing this open file description
  uint64_t id = 0, peer = 0;  // inode of the pipe/socket/file; a socket's peer
  uint64_t pipe_size = 0;
  uint64_t count = 0;
  bool semaphore = false;
  uint64_t mask = 0;
  int clockid = 0, settime_flags = 0;
  uint64_t value_ns = 0, interval_ns = 0, ticks = 0;
  std::vector<EpollItem> items;
  int sock_type = 0;
  uint64_t seals = 0;
  std::optional<ObjectData> data;
  std::string unrestorable;  // the checkpoint's own reason, if it knew one
};

struct FdEntry;
struct Image;

// read_objects.cpp: parses fds[].object into fd.object (ImageError if malformed).
void read_fd_object(const nlohmann::json& j, FdEntry& fd);
// Cross-checks the objects of the whole table (dup_of, peers, epoll targets,
// data on the right end); ImageError on the first inconsistency.
void check_objects(const Image& img);
// Why fd's object cannot be recreated here, or "" (e.g. a pipe with one end
// in another process).
std::string object_unrestorable_reason(const Image& img, const FdEntry& fd);
// The same with the other end looked for in every image of `images` (a
// process tree's: a pipe between two of its processes is restorable, and so is
// one whose missing end no process held: the tree's writer records a pipe
// object only then, docs/image-format.md "Process trees").
std::string object_unrestorable_reason(const Image& img, const FdEntry& fd, const std::vector<const Image*>& images,
                                       bool tree = false);
// Whether the tree's descriptors hold a read end and a write end of pipe `id`;
// whether one of them is socket `peer`.
bool pipe_has_both_ends(uint64_t id, const std::vector<const Image*>& images);
bool socket_has_peer(uint64_t peer, const std::vector<const Image*>& images);
// The deleted path of a memfd / unlinked file ("/memfd:x (deleted)"), or false.
bool is_deleted_path(const std::string& path);

}  // namespace ckptsim::restart
