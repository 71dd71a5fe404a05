// The words between the coordinator and the members of a tree dump: an
// abstract AF_UNIX SOCK_SEQPACKET listener "ckpt-tree-<coordinator>-<nonce>"
// (one message per word, and an EOF when either side dies), and the member
// request that makes a process run a member dump instead of a dump of its own:
// the checkpoint signal sent with rt_sigqueueinfo, si_code SI_QUEUE and
// si_value = "CKPT" << 32 | nonce, from one of its ancestors.
//   member -> coordinator: "stopped <fd>" (its end's fd, left out of the fd tables)
//   coordinator -> member: "dump <seq> <tmp-name> <f|i|fi|-> <parent|-> <pipe inode>..."
//                          (forked, incremental; the parent tree image) with the
//                          temp image directory's fd (SCM_RIGHTS); or "resume"
//   member -> coordinator: forked: "forked <writer pid> <its start time>" first
//                          (or "fail <reason>"), then from the writer:
//                          "done", or "fail <reason>"
//   coordinator -> member: "resume", or "abandon" (no image: the lineage goes back)
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sys.h"
#include "tree.h"

namespace ckptlib {

namespace {

socklen_t tree_address(sockaddr_un* a, long coordinator, uint32_t nonce) {
  *a = sockaddr_un{};
  a->sun_family = AF_UNIX;
  Text t;
  t.reset(a->sun_path + 1, sizeof a->sun_path - 1);  // abstract: a NUL first, no file
  t.str("ckpt-tree-").dec(uint64_t(coordinator)).ch('-').dec(nonce);
  return socklen_t(offsetof(sockaddr_un, sun_path) + 1 + t.len);
}

// The parent of `pid` (its stat line), or 0.
long parent_of(long pid) {
  char buf[1024];
  const long n = read_proc_stat(pid, buf, sizeof buf);
  ProcInfo p{};
  return n > 0 && parse_proc_stat(buf, size_t(n), &p) ? p.ppid : 0;
}

bool accept_one(Dump& d, Tree& t) {
  const long s = sys::accept4(t.listener, SOCK_CLOEXEC);
  if (s < 0) return s == -EAGAIN || s == -EINTR || s == -ECONNABORTED ? true : d.fail("accepting a member", s);
  struct ucred cred {};
  uint32_t len = sizeof cred;
  const long r = sys::getsockopt(int(s), SOL_SOCKET, SO_PEERCRED, &cred, &len);
  const int i = r == 0 ? find_member(t, cred.pid) : -1;
  // Anyone can connect to an abstract address: only the members asked count.
  if (i <= 0 || t.m[i].sock >= 0 || !t.m[i].signalled) {
    sys::close(int(s));
    return true;
  }
  t.m[i].sock = int(s);
  return true;
}

bool hear_stopped(Dump& d, Tree& t, Member& m) {
  char buf[256];
  const long n = recv_text(m.sock, buf, sizeof buf, 0);
  if (n == -EAGAIN || n == -EINTR) return true;
  if (n <= 0 || !starts_with(buf, size_t(n), "stopped ")) {
    char why[320];
    Text w;
    w.reset(why, sizeof why);
    w.str("could not stop for the checkpoint");
    if (n > 5 && starts_with(buf, size_t(n), "fail ")) w.str(": ").str(buf + 5);
    const char* kept = d.keep(w.data, w.len);
    return refuse_member(d, m, kept ? kept : "could not stop for the checkpoint");
  }
  size_t p = 8;
  m.sock_fd = int(parse_unsigned(buf, size_t(n), &p, 10));
  m.stopped = true;
  (void)t;
  return true;
}

}  // namespace

bool member_request(const siginfo_t* info, long* coordinator, uint32_t* nonce) {
  if (!info || info->si_code != SI_QUEUE) return false;
  const uint64_t v = uint64_t(reinterpret_cast<uintptr_t>(info->si_value.sival_ptr));
  if ((v >> 32) != kTreeMagic || info->si_pid <= 1) return false;
  // From an ancestor only: anyone else is answered with a dump of our own.
  long pid = sys::getppid();
  for (int depth = 0; pid > 1 && depth < 64 && pid != info->si_pid; ++depth) pid = parent_of(pid);
  if (pid != info->si_pid) return false;
  *coordinator = info->si_pid;
  *nonce = uint32_t(v);
  return true;
}

bool open_listener(Dump& d, Tree& t) {
  t.listener = -1;
  if (sys::getrandom(&t.nonce, sizeof t.nonce, 1 /* GRND_NONBLOCK */) != long(sizeof t.nonce))
    t.nonce = uint32_t(monotonic_ns() ^ (uint64_t(d.pid) << 16));
  const long s = sys::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return d.fail("creating the tree dump's socket", s);
  t.listener = int(s);
  sockaddr_un a;
  const socklen_t len = tree_address(&a, d.pid, t.nonce);
  long r = sys::bind(t.listener, &a, len);
  if (r == 0) r = sys::listen(t.listener, 128);
  return r == 0 ? true : d.fail("creating the tree dump's socket", r);
}

bool signal_member(Dump& d, Tree& t, Member& m) {
  siginfo_t info{};
  info.si_signo = d.sig;
  info.si_code = SI_QUEUE;
  info.si_pid = int(d.pid);
  info.si_uid = unsigned(sys::getuid());
  info.si_value.sival_ptr = reinterpret_cast<void*>(uintptr_t((kTreeMagic << 32) | t.nonce));
  const long r = sys::rt_sigqueueinfo(m.info.pid, d.sig, &info);
  if (r < 0 && r != -ESRCH) return d.fail("asking a process of the job to stop", r);
  m.signalled = true;  // ESRCH: it exited; the next scan sees it as a zombie, or not at all
  return true;
}

bool serve_connections(Dump& d, Tree& t, long timeout_ms) {
  struct pollfd fds[kMaxMembers + 1];
  int who[kMaxMembers + 1];
  unsigned n = 0;
  fds[n] = pollfd{t.listener, POLLIN, 0};
  who[n++] = -1;
  for (size_t i = 1; i < t.n; ++i)
    if (t.m[i].sock >= 0 && !t.m[i].stopped) {
      fds[n] = pollfd{t.m[i].sock, POLLIN, 0};
      who[n++] = int(i);
    }
  const long r = sys::poll(fds, n, timeout_ms);
  if (r < 0 && r != -EINTR) return d.fail("waiting for the job's processes to stop", r);
  if (r <= 0) return true;
  for (unsigned k = 0; k < n; ++k) {
    if (!fds[k].revents) continue;
    if (who[k] < 0 && !accept_one(d, t)) return false;
    if (who[k] >= 0 && !hear_stopped(d, t, t.m[who[k]])) return false;
  }
  return true;
}

bool send_text(int sock, const char* text, size_t n, int pass_fd) {
  struct iovec iov {const_cast<char*>(text), n};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    __builtin_memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  for (;;) {
    const long r = sys::sendmsg(sock, &msg, MSG_NOSIGNAL);  // a member that died must not kill us with SIGPIPE
    if (r != -EINTR) return r == long(n);
  }
}

// One message into buf (NUL-terminated): its length, 0 at EOF, or -errno
// (-EAGAIN after timeout_ms; -1 waits as long as it takes).
long recv_text(int sock, char* buf, size_t cap, long timeout_ms, int* passed_fd) {
  if (passed_fd) *passed_fd = -1;
  struct pollfd p {sock, POLLIN, 0};
  for (;;) {
    const long r = sys::poll(&p, 1, timeout_ms);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    if (r == 0) return -EAGAIN;
    break;
  }
  struct iovec iov {buf, cap - 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  long n;
  while ((n = sys::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) == -EINTR) {
  }
  if (n < 0) return n;
  buf[n] = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int fd;
    __builtin_memcpy(&fd, CMSG_DATA(c), sizeof fd);
    if (passed_fd) *passed_fd = fd;
    else sys::close(fd);
  }
  return n;
}

void close_connections(Tree& t, const char* last_word) {
  for (size_t i = 1; i < t.n; ++i) {
    if (t.m[i].sock < 0) continue;
    if (last_word) send_text(t.m[i].sock, last_word, cstr_len(last_word));
    sys::close(t.m[i].sock);
    t.m[i].sock = -1;
  }
  if (t.listener >= 0) sys::close(t.listener);
  t.listener = -1;
}

int connect_coordinator(long coordinator, uint32_t nonce) {
  const long s = sys::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return int(s);
  sockaddr_un a;
  const socklen_t len = tree_address(&a, coordinator, nonce);
  long r;
  while ((r = sys::connect(int(s), &a, len)) == -EINTR) {
  }
  if (r < 0) {
    sys::close(int(s));
    return int(r);
  }
  return int(s);
}

}  // namespace ckptlib
