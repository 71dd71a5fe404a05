// The interposed signal functions (see signal_guard.h). Each one passes the
// job's request on to libc with the checkpoint signal taken out of every set
// that would block it, wait for it or route it elsewhere, and keeps what the
// job asked for so it reads its own settings back:
//   - sigaction/signal on our signal: remembered, never installed; on any other
//     signal, our signal is taken out of the handler's sa_mask;
//   - sigprocmask/pthread_sigmask: never block it; `old` shows it blocked while
//     this thread asked it to be (a new thread starts with "not asked", though
//     it inherits its creator's real mask: the one place the job could tell);
//   - sigsuspend, sigwait*, signalfd, ppoll, pselect, epoll_pwait*: never wait
//     for it or block it while waiting. A wait our dump interrupts returns EINTR,
//     as it does for any handled signal.
// What is left: glibc blocks every signal for microseconds around thread
// creation and exit with a raw system call (threads.cpp waits that out), and a
// raw rt_sigprocmask/rt_sigaction system call made by the program itself.
#include "signal_guard.h"

#include "libc_next.h"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/signalfd.h>

namespace ckptlib::signal_guard {
namespace {

int g_sig = 0;                  // our signal once guarded, else 0
struct sigaction g_job_action;  // what the job asked for on it (never installed)
// This thread's own request: is our signal blocked, as far as it knows?
__thread bool t_job_blocks __attribute__((tls_model("initial-exec")));

// libc's functions behind ours (libc_next.h), looked up at start-up (guard),
// so a handler calling sigprocmask later never runs dlsym.
SigactionFn g_sigaction;
using SignalFn = sighandler_t (*)(int, sighandler_t);
SignalFn g_signal, g_sysv_signal;
using MaskFn = int (*)(int, const sigset_t*, sigset_t*);
MaskFn g_sigprocmask, g_pthread_sigmask;
using SuspendFn = int (*)(const sigset_t*);
SuspendFn g_sigsuspend;
using SigwaitFn = int (*)(const sigset_t*, int*);
SigwaitFn g_sigwait;
using SigwaitinfoFn = int (*)(const sigset_t*, siginfo_t*);
SigwaitinfoFn g_sigwaitinfo;
using SigtimedwaitFn = int (*)(const sigset_t*, siginfo_t*, const struct timespec*);
SigtimedwaitFn g_sigtimedwait;
using SignalfdFn = int (*)(int, const sigset_t*, int);
SignalfdFn g_signalfd;
using PpollFn = int (*)(struct pollfd*, nfds_t, const struct timespec*, const sigset_t*);
PpollFn g_ppoll;
using PselectFn = int (*)(int, fd_set*, fd_set*, fd_set*, const struct timespec*, const sigset_t*);
PselectFn g_pselect;
using EpollPwaitFn = int (*)(int, struct epoll_event*, int, int, const sigset_t*);
EpollPwaitFn g_epoll_pwait;
using EpollPwait2Fn = int (*)(int, struct epoll_event*, int, const struct timespec*, const sigset_t*);
EpollPwait2Fn g_epoll_pwait2;

// `set` without our signal (in `room`), or `set` itself when it has nothing to take out.
const sigset_t* without_ours(const sigset_t* set, sigset_t* room) {
  if (!g_sig || !set || sigismember(set, g_sig) != 1) return set;
  *room = *set;
  sigdelset(room, g_sig);
  return room;
}

int guarded_mask(MaskFn real, int how, const sigset_t* set, sigset_t* old, bool errno_style) {
  if (!real) return errno_style ? (errno = ENOSYS, -1) : ENOSYS;
  sigset_t room;
  const bool names_ours = g_sig && set && sigismember(set, g_sig) == 1;
  const bool blocked_before = t_job_blocks;
  const sigset_t* use = how == SIG_UNBLOCK ? set : without_ours(set, &room);
  const int r = real(how, use, old);
  if (r != 0 || !g_sig) return r;
  if (old && blocked_before) sigaddset(old, g_sig);
  if (set) {
    if (how == SIG_SETMASK) t_job_blocks = names_ours;
    else if (names_ours) t_job_blocks = how == SIG_BLOCK;
  }
  return r;
}

sighandler_t swap_job_handler(sighandler_t handler) {
  const sighandler_t previous = g_job_action.sa_handler;
  struct sigaction sa {};
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  g_job_action = sa;
  return previous;
}

}  // namespace

SigactionFn real_sigaction() { return libc_next(&g_sigaction, "sigaction"); }

void guard(int sig) {
  // Every lookup now, while no handler of ours can be running.
  real_sigaction();
  libc_next(&g_signal, "signal");
  libc_next(&g_sysv_signal, "sysv_signal");
  libc_next(&g_sigprocmask, "sigprocmask");
  libc_next(&g_pthread_sigmask, "pthread_sigmask");
  libc_next(&g_sigsuspend, "sigsuspend");
  libc_next(&g_sigwait, "sigwait");
  libc_next(&g_sigwaitinfo, "sigwaitinfo");
  libc_next(&g_sigtimedwait, "sigtimedwait");
  libc_next(&g_signalfd, "signalfd");
  libc_next(&g_ppoll, "ppoll");
  libc_next(&g_pselect, "pselect");
  libc_next(&g_epoll_pwait, "epoll_pwait");
  libc_next(&g_epoll_pwait2, "epoll_pwait2");
  g_job_action = {};
  g_job_action.sa_handler = SIG_DFL;
  g_sig = sig;
}

}  // namespace ckptlib::signal_guard

using namespace ckptlib::signal_guard;
using ckptlib::libc_next;

extern "C" int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  if (g_sig && sig == g_sig) {
    if (old) *old = g_job_action;
    if (act) g_job_action = *act;
    return 0;
  }
  SigactionFn real = real_sigaction();
  if (!real) return errno = ENOSYS, -1;
  struct sigaction mine;
  if (act && g_sig && sigismember(&act->sa_mask, g_sig) == 1) {
    mine = *act;
    sigdelset(&mine.sa_mask, g_sig);
    act = &mine;
  }
  return real(sig, act, old);
}

extern "C" sighandler_t signal(int sig, sighandler_t handler) {
  if (g_sig && sig == g_sig) return swap_job_handler(handler);
  SignalFn real = libc_next(&g_signal, "signal");
  return real ? real(sig, handler) : SIG_ERR;
}

extern "C" sighandler_t bsd_signal(int sig, sighandler_t handler) { return signal(sig, handler); }

extern "C" sighandler_t sysv_signal(int sig, sighandler_t handler) {
  if (g_sig && sig == g_sig) return swap_job_handler(handler);
  SignalFn real = libc_next(&g_sysv_signal, "sysv_signal");
  return real ? real(sig, handler) : SIG_ERR;
}

extern "C" int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  return guarded_mask(libc_next(&g_sigprocmask, "sigprocmask"), how, set, old, true);
}

extern "C" int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  return guarded_mask(libc_next(&g_pthread_sigmask, "pthread_sigmask"), how, set, old, false);
}

extern "C" int sigsuspend(const sigset_t* mask) {
  SuspendFn real = libc_next(&g_sigsuspend, "sigsuspend");
  sigset_t room;
  return real ? real(without_ours(mask, &room)) : (errno = ENOSYS, -1);
}

extern "C" int sigwait(const sigset_t* set, int* sig) {
  SigwaitFn real = libc_next(&g_sigwait, "sigwait");
  sigset_t room;
  return real ? real(without_ours(set, &room), sig) : ENOSYS;
}

extern "C" int sigwaitinfo(const sigset_t* set, siginfo_t* info) {
  SigwaitinfoFn real = libc_next(&g_sigwaitinfo, "sigwaitinfo");
  sigset_t room;
  return real ? real(without_ours(set, &room), info) : (errno = ENOSYS, -1);
}

extern "C" int sigtimedwait(const sigset_t* set, siginfo_t* info, const struct timespec* timeout) {
  SigtimedwaitFn real = libc_next(&g_sigtimedwait, "sigtimedwait");
  sigset_t room;
  return real ? real(without_ours(set, &room), info, timeout) : (errno = ENOSYS, -1);
}

extern "C" int signalfd(int fd, const sigset_t* mask, int flags) {
  SignalfdFn real = libc_next(&g_signalfd, "signalfd");
  sigset_t room;
  return real ? real(fd, without_ours(mask, &room), flags) : (errno = ENOSYS, -1);
}

extern "C" int ppoll(struct pollfd* fds, nfds_t n, const struct timespec* timeout, const sigset_t* mask) {
  PpollFn real = libc_next(&g_ppoll, "ppoll");
  sigset_t room;
  return real ? real(fds, n, timeout, without_ours(mask, &room)) : (errno = ENOSYS, -1);
}

extern "C" int pselect(int n, fd_set* r, fd_set* w, fd_set* e, const struct timespec* timeout,
                       const sigset_t* mask) {
  PselectFn real = libc_next(&g_pselect, "pselect");
  sigset_t room;
  return real ? real(n, r, w, e, timeout, without_ours(mask, &room)) : (errno = ENOSYS, -1);
}

extern "C" int epoll_pwait(int epfd, struct epoll_event* events, int max, int timeout, const sigset_t* mask) {
  EpollPwaitFn real = libc_next(&g_epoll_pwait, "epoll_pwait");
  sigset_t room;
  return real ? real(epfd, events, max, timeout, without_ours(mask, &room)) : (errno = ENOSYS, -1);
}

extern "C" int epoll_pwait2(int epfd, struct epoll_event* events, int max, const struct timespec* timeout,
                            const sigset_t* mask) {
  EpollPwait2Fn real = libc_next(&g_epoll_pwait2, "epoll_pwait2");
  sigset_t room;
  return real ? real(epfd, events, max, timeout, without_ours(mask, &room)) : (errno = ENOSYS, -1);
}
