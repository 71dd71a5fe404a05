#include "object_factory.h"

#include "image_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "copy_bytes.h"
#include "restart/restart.h"

namespace ckptsim::restart {
namespace {

constexpr unsigned long kTfdIocSetTicks = _IOW('T', 0, unsigned long long);

[[noreturn]] void fail(const FdEntry& fd, const std::string& what) {
  throw RestoreError("cannot recreate fd " + std::to_string(fd.fd) + " (" + fd.path + "): " + what + ": " +
                     std::strerror(errno));
}

util::OwnedFd checked(const FdEntry& fd, int raw, const char* what) {
  if (raw < 0) fail(fd, what);
  return util::OwnedFd(raw);
}

// Another open file description of the object behind `holder` (procfs opens
// the inode anew), with fd's access mode, status flags and offset.
util::OwnedFd reopen(const FdEntry& fd, int holder) {
  const std::string self = "/proc/self/fd/" + std::to_string(holder);
  util::OwnedFd f = checked(fd, ::open(self.c_str(), (fd.flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC), "reopen");
  if (fd.kind == "regular" && ::lseek(f.get(), static_cast<off_t>(fd.offset), SEEK_SET) < 0) fail(fd, "lseek");
  return f;
}

void set_status_flags(const FdEntry& fd, int f) {
  if (::fcntl(f, F_SETFL, fd.flags) != 0) fail(fd, "F_SETFL");
}

void write_data(const FdEntry& fd, const Image& img, const ObjectData& data, int into) {
  const int src = img.files->get(data.file);
  std::vector<char> buf(data.size);
  if (!buf.empty() && ::pread(src, buf.data(), buf.size(), 0) != static_cast<ssize_t>(buf.size()))
    fail(fd, "read its queued bytes");
  for (size_t done = 0; done < buf.size();) {
    const ssize_t n = ::send(into, buf.data() + done, buf.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
    const ssize_t w = n < 0 && errno == ENOTSOCK ? ::write(into, buf.data() + done, buf.size() - done) : n;
    if (w <= 0) fail(fd, "queue its bytes again");
    done += w;
  }
}

// A fresh file with the copy's content: a memfd of the same name, or an
// O_TMPFILE next to where the deleted file was (else in /tmp).
util::OwnedFd new_file(const FdEntry& fd, const std::string& path, int copy, uint64_t size, uint64_t seals) {
  const int access = (fd.flags & O_ACCMODE) == O_WRONLY ? O_WRONLY : O_RDWR;
  std::string name = path.substr(0, path.size() - std::strlen(" (deleted)"));
  util::OwnedFd f;
  if (name.rfind("/memfd:", 0) == 0) {
    f = checked(fd, ::memfd_create(name.substr(7).c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING), "memfd_create");
  } else {
    const std::string dir = std::filesystem::path(name).parent_path();
    f = util::OwnedFd(::open(dir.empty() ? "/tmp" : dir.c_str(), O_TMPFILE | access | O_CLOEXEC, 0600));
    if (!f) f = checked(fd, ::open("/tmp", O_TMPFILE | access | O_CLOEXEC, 0600), "O_TMPFILE");
  }
  copy_bytes(copy, f.get(), size, path);
  if (seals && ::fcntl(f.get(), F_ADD_SEALS, static_cast<int>(seals)) != 0) fail(fd, "F_ADD_SEALS");
  return f;
}

util::OwnedFd timer(const FdEntry& fd, const KernelObject& o) {
  util::OwnedFd f = checked(fd, ::timerfd_create(o.clockid, TFD_CLOEXEC), "timerfd_create");
  // Relative to now: the time the process spent dead does not count.
  // A periodic timer whose expiry is pending (not read yet) shows it_value 0
  // (the kernel moves it on only when it is read): it was still armed, its
  // next expiry at most one interval away. Left disarmed, the job would block.
  const uint64_t value_ns = o.value_ns ? o.value_ns : o.interval_ns;
  itimerspec its{};
  its.it_value = {static_cast<time_t>(value_ns / 1000000000), static_cast<long>(value_ns % 1000000000)};
  its.it_interval = {static_cast<time_t>(o.interval_ns / 1000000000), static_cast<long>(o.interval_ns % 1000000000)};
  if (value_ns && ::timerfd_settime(f.get(), 0, &its, nullptr) != 0) fail(fd, "timerfd_settime");
  unsigned long long ticks = o.ticks;
  if (ticks && ::ioctl(f.get(), kTfdIocSetTicks, &ticks) != 0) fail(fd, "TFD_IOC_SET_TICKS");
  return f;
}

}  // namespace

std::pair<const Image*, const FdEntry*> ObjectFactory::holder_of_data(const std::string& type, uint64_t id) const {
  for (const Image* img : images_)
    for (const auto& f : img->fds)
      if (f.object && f.object->type == type && f.object->dup_of < 0 && f.object->id == id && f.object->data)
        return {img, &f};
  return {nullptr, nullptr};
}

const Image& ObjectFactory::image_of(const FdEntry& fd) const {
  for (const Image* img : images_)
    for (const auto& f : img->fds)
      if (&f == &fd) return *img;
  throw RestoreError("internal: fd " + std::to_string(fd.fd) + " of no image of this restore");
}

util::OwnedFd ObjectFactory::pipe_end(const FdEntry& fd) {
  const uint64_t id = fd.object->id;
  if (!pipes_.count(id)) {
    struct stat st {};
    util::OwnedFd rd, wr;
    if (fd.path.rfind("pipe:", 0) != 0 && ::stat(fd.path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
      rd = checked(fd, ::open(fd.path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC), "open the FIFO");
      wr = checked(fd, ::fcntl(rd.get(), F_DUPFD_CLOEXEC, 0), "dup");
    } else {
      int p[2];
      if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) fail(fd, "pipe2");
      rd = util::OwnedFd(p[0]), wr = util::OwnedFd(p[1]);
    }
    if (fd.object->pipe_size && ::fcntl(wr.get(), F_SETPIPE_SZ, static_cast<int>(fd.object->pipe_size)) < 0)
      fail(fd, "F_SETPIPE_SZ");
    if (auto [img, h] = holder_of_data("pipe", id); h) write_data(fd, *img, *h->object->data, wr.get());
    pipes_[id] = std::move(rd);
  }
  return reopen(fd, pipes_[id].get());
}

util::OwnedFd ObjectFactory::socket(const FdEntry& fd) {
  const KernelObject& o = *fd.object;
  if (!sockets_.count(o.id)) {
    int sv[2];
    if (::socketpair(AF_UNIX, o.sock_type | SOCK_CLOEXEC, 0, sv) != 0) fail(fd, "socketpair");
    sockets_[o.id] = util::OwnedFd(sv[0]);
    sockets_[o.peer] = util::OwnedFd(sv[1]);
    // What was queued for one end is sent again from the other.
    if (auto [img, h] = holder_of_data("unix_socket", o.id); h) write_data(fd, *img, *h->object->data, sv[1]);
    if (auto [img, h] = holder_of_data("unix_socket", o.peer); h) write_data(fd, *img, *h->object->data, sv[0]);
  }
  return checked(fd, ::fcntl(sockets_[o.id].get(), F_DUPFD_CLOEXEC, 0), "dup");
}

util::OwnedFd ObjectFactory::file(const FdEntry& fd) {
  const uint64_t id = fd.object->id;
  if (!files_.count(id)) {
    files_[id] = new_file(fd, fd.path, image_of(fd).files->get(fd.copy), fd.size, fd.object->seals);
    // An O_TMPFILE description keeps O_TMPFILE in its flags, which a reopen
    // through procfs would lose: its first description is the created one.
    if (fd.flags & O_TMPFILE & ~O_DIRECTORY) {
      util::OwnedFd f = checked(fd, ::fcntl(files_[id].get(), F_DUPFD_CLOEXEC, 0), "dup");
      if (::lseek(f.get(), static_cast<off_t>(fd.offset), SEEK_SET) < 0) fail(fd, "lseek");
      return f;
    }
  }
  return reopen(fd, files_[id].get());
}

util::OwnedFd ObjectFactory::open(const FdEntry& fd) {
  const KernelObject& o = *fd.object;
  util::OwnedFd f;
  if (o.type == "pipe") {
    f = pipe_end(fd);
  } else if (o.type == "unix_socket") {
    f = socket(fd);
  } else if (o.type == "memfd" || o.type == "unlinked") {
    f = file(fd);
  } else if (o.type == "eventfd") {
    f = checked(fd, ::eventfd(0, EFD_CLOEXEC | (o.semaphore ? EFD_SEMAPHORE : 0)), "eventfd");
    const uint64_t count = o.count;
    if (count && ::write(f.get(), &count, sizeof count) != sizeof count) fail(fd, "set its counter");
  } else if (o.type == "signalfd") {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig = 1; sig <= 64; ++sig)
      if (o.mask & (1ULL << (sig - 1))) sigaddset(&mask, sig);
    f = checked(fd, ::signalfd(-1, &mask, SFD_CLOEXEC), "signalfd");
  } else if (o.type == "timerfd") {
    f = timer(fd, o);
  } else if (o.type == "epoll") {
    f = checked(fd, ::epoll_create1(EPOLL_CLOEXEC), "epoll_create1");  // items: restore_objects.cpp
  } else {
    throw ImageError("manifest.json: fd " + std::to_string(fd.fd) + " has an unknown object type " + o.type);
  }
  set_status_flags(fd, f.get());
  return f;
}

// In a tree, processes that map one deleted file shared (a POSIX semaphore
// made before a fork, as multiprocessing's locks are) must map one file again,
// or each would lock its own copy. The image does not name the inode: one
// path with the same bytes in several processes is taken for one file.
util::OwnedFd ObjectFactory::open_mapped(const Image& img, const SharedFile& sf) {
  FdEntry fd;
  fd.fd = -1;
  fd.path = sf.path;
  util::OwnedFd& made = mapped_[{sf.path, sf.xxh3}];
  if (!made) made = new_file(fd, sf.path, img.files->get(sf.copy), sf.size, 0);
  return checked(fd, ::fcntl(made.get(), F_DUPFD_CLOEXEC, 0), "dup");
}

}  // namespace ckptsim::restart
