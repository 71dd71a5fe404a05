// Kernel objects behind the fds: pipes, eventfd, epoll, timerfd, signalfd,
// unix sockets, memfds and unlinked files. Their state comes from
// /proc/self/fdinfo, fcntl/getsockopt and sock_diag; the bytes queued in a pipe
// or a stream socket are copied without consuming them (tee(2) into a pipe of
// our own; MSG_PEEK with SO_PEEK_OFF), into files/obj-FD. Runs on the signal
// path (docs/internals.md "Signal-path rules").
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

constexpr int kFGetSeals = 1034;     // F_GET_SEALS
constexpr int kFGetPipeSz = 1032;    // F_GETPIPE_SZ
constexpr int kFSetPipeSz = 1031;    // F_SETPIPE_SZ
constexpr unsigned kSpliceNonblock = 2;

bool ends_with(const char* s, size_t n, const char* suffix) {
  const size_t k = cstr_len(suffix);
  return n >= k && starts_with(s + n - k, k, suffix);
}

ObjKind object_kind(const FdEntry& e) {
  if (e.kind == FdKind::pipe) return ObjKind::pipe;
  if (e.kind == FdKind::socket) {
    int domain = 0;
    uint32_t len = sizeof domain;
    long r = sys::getsockopt(e.fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
    return r == 0 && domain == AF_UNIX ? ObjKind::unix_socket : ObjKind::none;
  }
  if (e.kind == FdKind::regular && ends_with(e.path, e.path_len, " (deleted)"))
    return starts_with(e.path, e.path_len, "/memfd:") ? ObjKind::memfd : ObjKind::unlinked;
  if (e.kind != FdKind::other) return ObjKind::none;
  if (cstr_eq(e.path, "anon_inode:[eventfd]")) return ObjKind::eventfd;
  if (cstr_eq(e.path, "anon_inode:[eventpoll]")) return ObjKind::epoll;
  if (cstr_eq(e.path, "anon_inode:[timerfd]")) return ObjKind::timerfd;
  if (cstr_eq(e.path, "anon_inode:[signalfd]")) return ObjKind::signalfd;
  return ObjKind::none;
}

// The value after "key" at the start of a line of fdinfo text; *pos is left
// just after it (for the second number of "it_value: (s, ns)").
bool field(const char* text, size_t n, const char* key, int base, uint64_t* out, size_t* pos = nullptr) {
  const size_t k = cstr_len(key);
  for (size_t i = 0; i + k <= n; ++i) {
    if ((i > 0 && text[i - 1] != '\n') || !starts_with(text + i, n - i, key)) continue;
    size_t p = i + k;
    while (p < n && (text[p] == ' ' || text[p] == '\t' || text[p] == '(')) ++p;
    *out = parse_unsigned(text, n, &p, base);
    if (pos) *pos = p;
    return true;
  }
  return false;
}

// "(seconds, nanoseconds)" after key, in ns.
bool time_field(const char* text, size_t n, const char* key, uint64_t* ns) {
  uint64_t s = 0, sub = 0;
  size_t p = 0;
  if (!field(text, n, key, 10, &s, &p)) return false;
  while (p < n && (text[p] == ',' || text[p] == ' ')) ++p;
  sub = parse_unsigned(text, n, &p, 10);
  *ns = s * 1000000000ull + sub;
  return true;
}

bool epoll_items(Dump& d, KernelObject& o, const char* text, size_t n) {
  uint32_t count = 0;
  for (size_t i = 0; i + 4 <= n; ++i)
    if ((i == 0 || text[i - 1] == '\n') && starts_with(text + i, n - i, "tfd:")) ++count;
  auto* items = static_cast<EpollItem*>(d.alloc(count * sizeof(EpollItem)));
  if (count && !items) return d.fail("reading an epoll interest list", -ENOMEM);
  uint32_t k = 0;
  for (size_t i = 0; i + 4 <= n && k < count; ++i) {
    if ((i > 0 && text[i - 1] != '\n') || !starts_with(text + i, n - i, "tfd:")) continue;
    const size_t len = n - i;
    uint64_t tfd = 0, events = 0, data = 0;
    field(text + i, len, "tfd:", 10, &tfd);
    for (size_t j = 0; j + 7 < len && text[i + j] != '\n'; ++j) {
      if (starts_with(text + i + j, len - j, "events:")) {
        size_t p = j + 7;
        while (text[i + p] == ' ') ++p;
        events = parse_unsigned(text + i, len, &p, 16);
      } else if (starts_with(text + i + j, len - j, "data:")) {
        size_t p = j + 5;
        while (text[i + p] == ' ') ++p;
        data = parse_unsigned(text + i, len, &p, 16);
      }
    }
    items[k++] = EpollItem{int(tfd), uint32_t(events), data};
  }
  o.items = items;
  o.nitems = k;
  return true;
}

bool read_fdinfo(Dump& d, FdEntry& e) {
  char path[48];
  Text t;
  t.reset(path, sizeof path);
  t.str("/proc/self/fdinfo/").dec(unsigned(e.fd));
  long n = read_small_file(AT_FDCWD, path, d.io_buf, kIoBufSize);
  if (n < 0) return d.fail("reading fdinfo", n);
  const char* s = d.io_buf;
  const size_t len = size_t(n);
  KernelObject& o = e.obj;
  switch (o.kind) {
    case ObjKind::eventfd:
      if (!field(s, len, "eventfd-count:", 16, &o.a)) return d.fail("reading an eventfd", -EINVAL);
      field(s, len, "eventfd-semaphore:", 10, &o.b);
      return true;
    case ObjKind::signalfd:
      if (!field(s, len, "sigmask:", 16, &o.a)) return d.fail("reading a signalfd", -EINVAL);
      return true;
    case ObjKind::timerfd: {
      uint64_t clockid = 0, flags = 0;
      if (!field(s, len, "clockid:", 10, &clockid) || !time_field(s, len, "it_value:", &o.a) ||
          !time_field(s, len, "it_interval:", &o.b))
        return d.fail("reading a timerfd", -EINVAL);
      field(s, len, "ticks:", 10, &o.c);
      field(s, len, "settime flags:", 8, &flags);
      o.d = clockid | (flags << 32);
      return true;
    }
    case ObjKind::epoll: return epoll_items(d, o, s, len);
    default: return true;
  }
}

// Fills in each unix socket's peer inode from one sock_diag dump.
bool find_socket_peers(Dump& d) {
  bool any = false;
  for (size_t i = 0; i < d.nfds; ++i) any |= d.fds[i].obj.kind == ObjKind::unix_socket;
  if (!any) return true;
  long nl = sys::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return d.fail("asking sock_diag for socket peers", nl);
  struct {
    nlmsghdr h;
    unix_diag_req r;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_states = ~0u;
  req.r.udiag_show = UDIAG_SHOW_PEER;
  long r = sys::sendto(int(nl), &req, sizeof req, 0);
  bool done = r < 0;
  while (!done) {
    r = sys::recvfrom(int(nl), d.io_buf, kIoBufSize, 0);
    if (r == -EINTR) continue;
    if (r <= 0) break;
    int left = int(r);
    for (auto* h = reinterpret_cast<nlmsghdr*>(d.io_buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
        done = true;
        break;
      }
      auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
      uint64_t peer = 0;
      int alen = int(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
      for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
        if (a->rta_type == UNIX_DIAG_PEER) peer = *static_cast<uint32_t*>(RTA_DATA(a));
      for (size_t i = 0; i < d.nfds; ++i)
        if (d.fds[i].obj.kind == ObjKind::unix_socket && d.fds[i].obj.id == m->udiag_ino) d.fds[i].obj.peer = peer;
    }
  }
  sys::close(int(nl));
  if (r < 0) return d.fail("asking sock_diag for socket peers", r);
  return true;
}

struct PipeDrain {
  int fd;
};
long read_drain(void* ctx, char* buf, size_t cap, uint64_t) {
  for (;;) {
    long n = sys::read(static_cast<PipeDrain*>(ctx)->fd, buf, cap);
    if (n == -EINTR) continue;
    return n == -EAGAIN ? 0 : n;
  }
}

long peek_chunk(void* ctx, char* buf, size_t cap, uint64_t) {
  for (;;) {
    long n = sys::recvfrom(*static_cast<int*>(ctx), buf, cap, MSG_PEEK | MSG_DONTWAIT);
    if (n == -EINTR) continue;
    return n == -EAGAIN ? 0 : n;
  }
}

void data_name(char* name, size_t cap, int fd) {
  Text t;
  t.reset(name, cap);
  t.str("obj-").dec(unsigned(fd));
}

// The pipe's bytes, duplicated by tee(2) into a pipe of ours and read from there.
bool save_pipe_bytes(Dump& d, FdEntry& e) {
  int queued = 0;
  long r = sys::ioctl(e.fd, FIONREAD, &queued);
  if (r < 0) return d.fail("measuring the bytes in a pipe", r);
  int tp[2];
  if ((r = sys::pipe2(tp, O_NONBLOCK | O_CLOEXEC)) < 0) return d.fail("capturing the bytes in a pipe", r);
  if (long(queued) > long(sys::fcntl(tp[1], kFGetPipeSz))) sys::fcntl(tp[1], kFSetPipeSz, long(e.obj.a));
  r = queued > 0 ? sys::tee(e.fd, tp[1], size_t(queued), kSpliceNonblock) : 0;
  bool ok = true;
  if (r < 0 || r != queued) ok = d.fail("capturing the bytes in a pipe", r < 0 ? r : -EAGAIN);
  char name[32];
  data_name(name, sizeof name, e.fd);
  PipeDrain drain{tp[0]};
  if (ok) ok = copy_stream(d, d.filesfd, name, read_drain, &drain, &e.obj.data_size, &e.obj.data_xxh3);
  e.obj.has_data = ok;
  sys::close(tp[0]);
  sys::close(tp[1]);
  return ok;
}

// The socket's receive queue, peeked from the job's own socket with a peek
// offset so each recv moves on; the job's offset setting is put back.
bool save_socket_bytes(Dump& d, FdEntry& e) {
  int old = -1;
  uint32_t len = sizeof old;
  sys::getsockopt(e.fd, SOL_SOCKET, SO_PEEK_OFF, &old, &len);
  const int zero = 0;
  long r = sys::setsockopt(e.fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero);
  if (r < 0) return d.fail("peeking into a socket", r);
  if (e.obj.a != SOCK_STREAM) {
    char probe;
    if (peek_chunk(&e.fd, &probe, 1, 0) > 0) e.obj.unrestorable = "has datagrams queued in it";
    sys::setsockopt(e.fd, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof old);
    return true;
  }
  char name[32];
  data_name(name, sizeof name, e.fd);
  int fd = e.fd;
  bool ok = copy_stream(d, d.filesfd, name, peek_chunk, &fd, &e.obj.data_size, &e.obj.data_xxh3);
  e.obj.has_data = ok;
  sys::setsockopt(e.fd, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof old);
  return ok;
}

bool first_with_id(const Dump& d, size_t i) {
  for (size_t j = 0; j < i; ++j)
    if (d.fds[j].obj.kind == d.fds[i].obj.kind && d.fds[j].obj.id == d.fds[i].obj.id) return false;
  return true;
}

bool is_reader(const FdEntry& e) { return (e.flags & O_ACCMODE) != O_WRONLY; }

bool pipe_has_writer(const Dump& d, uint64_t id) {
  for (size_t j = 0; j < d.nfds; ++j)
    if (d.fds[j].obj.kind == ObjKind::pipe && d.fds[j].obj.id == id && (d.fds[j].flags & O_ACCMODE) != O_RDONLY)
      return true;
  return false;
}

bool tree_pipe(const Dump& d, const FdEntry& e) {
  if (!d.in_tree || e.kind != FdKind::pipe) return false;
  for (size_t i = 0; i < d.ntree_pipes; ++i)
    if (d.tree_pipes[i] == e.ino) return true;
  return false;
}

bool save_bytes(Dump& d) {
  for (size_t i = 0; i < d.nfds; ++i) {
    FdEntry& e = d.fds[i];
    if (e.obj.dup_of >= 0) continue;
    if (e.obj.kind == ObjKind::pipe) {
      bool first_reader = is_reader(e);
      for (size_t j = 0; j < i && first_reader; ++j)
        if (d.fds[j].obj.kind == ObjKind::pipe && d.fds[j].obj.id == e.obj.id && is_reader(d.fds[j]))
          first_reader = false;
      // A pipe with an end in another process cannot come back: its bytes are
      // not needed. In a tree dump, every pipe recorded has its ends in the tree.
      if (first_reader && (d.in_tree || pipe_has_writer(d, e.obj.id)) && !save_pipe_bytes(d, e)) return false;
    } else if (e.obj.kind == ObjKind::unix_socket && first_with_id(d, i) && !save_socket_bytes(d, e)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool save_kernel_objects(Dump& d) {
  for (size_t i = 0; i < d.nfds; ++i) {
    FdEntry& e = d.fds[i];
    e.obj = KernelObject{};
    e.obj.dup_of = -1;
    // 0-2 are whoever started the job (fd_plan's stdio rule): not captured,
    // unless a tree dump found the pipe's ends all inside the tree.
    if (e.fd <= 2 && (e.kind == FdKind::pipe || e.kind == FdKind::socket) && !tree_pipe(d, e)) continue;
    e.obj.kind = object_kind(e);
    if (e.obj.kind == ObjKind::none) continue;
    e.obj.id = e.ino;
    for (size_t j = 0; j < i; ++j)
      if (d.fds[j].obj.kind == e.obj.kind && d.fds[j].obj.id == e.obj.id &&
          sys::kcmp(d.pid, d.pid, KCMP_FILE, d.fds[j].fd, e.fd) == 0) {
        e.obj.dup_of = d.fds[j].obj.dup_of >= 0 ? d.fds[j].obj.dup_of : d.fds[j].fd;
        break;
      }
    if (e.obj.kind == ObjKind::pipe) e.obj.a = uint64_t(sys::fcntl(e.fd, kFGetPipeSz));
    if (e.obj.kind == ObjKind::memfd) {
      long seals = sys::fcntl(e.fd, kFGetSeals);
      e.obj.a = seals > 0 ? uint64_t(seals) : 0;
    }
    if (e.obj.kind == ObjKind::unix_socket) {
      int type = 0;
      uint32_t len = sizeof type;
      sys::getsockopt(e.fd, SOL_SOCKET, SO_TYPE, &type, &len);
      e.obj.a = uint64_t(type);
    }
    if (e.obj.dup_of < 0 && !read_fdinfo(d, e)) return false;
  }
  return find_socket_peers(d) && save_bytes(d);
}

}  // namespace ckptlib
