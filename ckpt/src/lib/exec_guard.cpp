// The interposed exec and spawn calls (exec_guard.h). A program the job execs
// keeps libckpt.so and its CKPT_* settings even when the caller passes an
// environment without them (`env -i`, subprocess with env={}, execve with an
// empty envp): a copy with them added, built on the stack, is passed instead.
// glibc's exec calls reach the kernel through its internal __execve, and
// system() and popen() through its internal __posix_spawn, so each one is
// interposed itself.
//
// The exec window: from the exec until the new image's constructor installs
// its handler, the checkpoint signal has its default action (SIGQUIT's kills).
// So the exec is made with the signal blocked (raw rt_sigprocmask: the guard
// in signal_guard.cpp would refuse) and a mark in the new environment; the
// blocked mask and a pending signal survive exec, and the new image's
// constructor unblocks it once its handler is in, taking the signal then. If
// the exec returns, the mask is restored. A program that will not load the
// library (static, 32-bit, set-user-ID) is exec'd without the block.
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_guard.h"
#include "libc_next.h"
#include "sys.h"

namespace ckptlib::exec_guard {
namespace {

using ExecveFn = int (*)(const char*, char* const[], char* const[]);
using ExecveatFn = int (*)(int, const char*, char* const[], char* const[], int);
using FexecveFn = int (*)(int, char* const[], char* const[]);
using ExecvpeFn = int (*)(const char*, char* const[], char* const[]);
using SpawnFn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                        char* const[], char* const[]);
using PopenFn = FILE* (*)(const char*, const char*);
using SystemFn = int (*)(const char*);

// Looked up by lookup_all() from the constructor: an exec in a vfork child must not run dlsym.
ExecveFn g_execve;
ExecveatFn g_execveat;
FexecveFn g_fexecve;
ExecvpeFn g_execvpe;
SpawnFn g_spawn, g_spawnp;
PopenFn g_popen;
SystemFn g_system;

// Calls call(env, marked) with envp completed (marked: the mark for
// `mark_sig` is in it), or with envp itself when that cannot be done.
template <class Call>
int with_env(char* const* envp, int mark_sig, Call call) {
  const size_t n = count(envp);
  if (!active()) return call(envp, false);
  if (n > kMaxEnv) return complete_env(envp, n, nullptr, nullptr, 0), call(envp, false);  // said there
  const char* out[n + kExtra];
  EnvRoom room;
  char* const* env = complete_env(envp, n, out, &room, mark_sig);
  return env ? call(env, mark_sig != 0) : call(envp, false);
}

// An exec through call(env): with the checkpoint signal blocked when the new
// program loads us (`loads`) and it was not blocked already; restored if the
// exec returns.
template <class Call>
int guarded_exec(char* const* envp, bool loads, Call call) {
  const int sig = loads ? checkpoint_signal() : 0;
  const uint64_t bit = sig ? 1ull << (sig - 1) : 0;
  uint64_t old = 0;
  bool blocked = sig && sys::rt_sigprocmask(SIG_BLOCK, &bit, &old) == 0 && !(old & bit);
  const int r = with_env(envp, blocked ? sig : 0, [&](char* const* env, bool marked) {
    if (blocked && !marked) {
      sys::rt_sigprocmask(SIG_SETMASK, &old, nullptr);
      blocked = false;
    }
    return call(env);
  });
  if (blocked) {
    const int saved = errno;
    sys::rt_sigprocmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
  }
  return r;
}

// posix_spawn(p) with the environment completed; the child execs with the
// signal blocked by its attributes (the caller's own mask is left alone).
int guarded_spawn(SpawnFn fn, bool loads, pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                  const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  if (!fn) return ENOSYS;
  posix_spawnattr_t mine;
  if (attr) mine = *attr;
  else posix_spawnattr_init(&mine);
  short flags = 0;
  posix_spawnattr_getflags(&mine, &flags);
  sigset_t mask;
  if (flags & POSIX_SPAWN_SETSIGMASK) {
    posix_spawnattr_getsigmask(&mine, &mask);
  } else {  // the child would start with this thread's real mask
    uint64_t now = 0;
    sys::rt_sigprocmask(SIG_BLOCK, nullptr, &now);
    sigemptyset(&mask);
    for (int s = 1; s <= 64; ++s)
      if (now & (1ull << (s - 1))) sigaddset(&mask, s);
  }
  // A mask the caller asks for is a request the guard keeps virtual (the new
  // image is guarded too); only a real block of this thread's is left as it is.
  const int sig = loads ? checkpoint_signal() : 0;
  const bool really_blocked = !(flags & POSIX_SPAWN_SETSIGMASK) && sig && sigismember(&mask, sig) == 1;
  const int mark = sig && !really_blocked ? sig : 0;
  return with_env(envp, mark, [&](char* const* env, bool marked) {
    if (!marked) return fn(pid, path, actions, attr, argv, env);
    sigaddset(&mask, sig);
    posix_spawnattr_setsigmask(&mine, &mask);
    posix_spawnattr_setflags(&mine, short(flags | POSIX_SPAWN_SETSIGMASK));
    return fn(pid, path, actions, &mine, argv, env);
  });
}

// execl's arguments (after arg0) as an argv on the stack, passed to call(argv, envp).
template <class Call>
int from_list(const char* arg0, va_list ap, bool with_envp, Call call) {
  va_list count_ap;
  va_copy(count_ap, ap);
  size_t n = 1;
  while (va_arg(count_ap, const char*)) ++n;
  va_end(count_ap);
  if (n > 1u << 18) return errno = E2BIG, -1;
  const char* argv[n + 1];
  argv[0] = arg0;
  for (size_t i = 1; i <= n; ++i) argv[i] = va_arg(ap, const char*);
  char* const* envp = with_envp ? va_arg(ap, char* const*) : environ;
  return call(const_cast<char* const*>(argv), envp);
}

constexpr char kShell[] = "/bin/sh";

// system()'s SIGINT and SIGQUIT, ignored while any call runs (glibc's rule).
pthread_mutex_t g_system_lock = PTHREAD_MUTEX_INITIALIZER;
int g_system_calls = 0;
struct sigaction g_intr, g_quit;

// glibc's system() (sysdeps/posix/system.c) through the guarded posix_spawn
// and sigaction: glibc's own reaches neither, so the shell would lose the
// library, and with SIGQUIT as the checkpoint signal the caller would ignore
// checkpoints for as long as the command runs. Not a cancellation point here.
int run_shell(const char* line) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  pthread_mutex_lock(&g_system_lock);
  if (g_system_calls++ == 0) {
    sigaction(SIGINT, &ignore, &g_intr);
    sigaction(SIGQUIT, &ignore, &g_quit);
  }
  pthread_mutex_unlock(&g_system_lock);
  sigset_t chld, omask, reset;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &omask);
  sigemptyset(&reset);
  if (g_intr.sa_handler != SIG_IGN) sigaddset(&reset, SIGINT);
  if (g_quit.sa_handler != SIG_IGN) sigaddset(&reset, SIGQUIT);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigmask(&attr, &omask);
  posix_spawnattr_setsigdefault(&attr, &reset);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const char* argv[] = {"sh", "-c", "--", line, nullptr};
  pid_t pid = -1;
  int status = -1;
  const int ret = guarded_spawn(libc_next(&g_spawn, "posix_spawn"), loads_library(AT_FDCWD, kShell, 0), &pid, kShell,
                                nullptr, &attr, const_cast<char* const*>(argv), environ);
  posix_spawnattr_destroy(&attr);
  if (ret == 0) {
    while (waitpid(pid, &status, 0) != pid)
      if (errno != EINTR) {
        status = -1;
        break;
      }
  } else {
    status = 127 << 8;
  }
  const int saved = errno;
  pthread_mutex_lock(&g_system_lock);
  if (--g_system_calls == 0 && (sigaction(SIGINT, &g_intr, nullptr) | sigaction(SIGQUIT, &g_quit, nullptr)) != 0)
    status = -1;
  if (sigprocmask(SIG_SETMASK, &omask, nullptr) != 0) status = -1;
  pthread_mutex_unlock(&g_system_lock);
  errno = saved;
  return status;
}

}  // namespace

void lookup_all() {
  libc_next(&g_execve, "execve");
  libc_next(&g_execveat, "execveat");
  libc_next(&g_fexecve, "fexecve");
  libc_next(&g_execvpe, "execvpe");
  libc_next(&g_spawn, "posix_spawn");
  libc_next(&g_spawnp, "posix_spawnp");
  libc_next(&g_popen, "popen");
  libc_next(&g_system, "system");
}

}  // namespace ckptlib::exec_guard

using namespace ckptlib::exec_guard;
using ckptlib::libc_next;

extern "C" int execve(const char* path, char* const argv[], char* const envp[]) {
  ExecveFn fn = libc_next(&g_execve, "execve");
  if (!fn) return errno = ENOSYS, -1;
  return guarded_exec(envp, loads_library(AT_FDCWD, path, 0), [&](char* const* env) { return fn(path, argv, env); });
}

extern "C" int execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) {
  ExecveatFn fn = libc_next(&g_execveat, "execveat");
  if (!fn) return errno = ENOSYS, -1;
  return guarded_exec(envp, loads_library(dirfd, path, flags),
                      [&](char* const* env) { return fn(dirfd, path, argv, env, flags); });
}

extern "C" int fexecve(int fd, char* const argv[], char* const envp[]) {
  FexecveFn fn = libc_next(&g_fexecve, "fexecve");
  if (!fn) return errno = ENOSYS, -1;
  return guarded_exec(envp, loads_library(fd, "", AT_EMPTY_PATH), [&](char* const* env) { return fn(fd, argv, env); });
}

extern "C" int execv(const char* path, char* const argv[]) { return execve(path, argv, environ); }

extern "C" int execvpe(const char* file, char* const argv[], char* const envp[]) {
  ExecvpeFn fn = libc_next(&g_execvpe, "execvpe");
  if (!fn) return errno = ENOSYS, -1;
  return guarded_exec(envp, found_loads_library(file), [&](char* const* env) { return fn(file, argv, env); });
}

extern "C" int execvp(const char* file, char* const argv[]) { return execvpe(file, argv, environ); }

extern "C" int execl(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  const int r = from_list(arg, ap, false, [&](char* const* argv, char* const* envp) { return execve(path, argv, envp); });
  va_end(ap);
  return r;
}

extern "C" int execle(const char* path, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  const int r = from_list(arg, ap, true, [&](char* const* argv, char* const* envp) { return execve(path, argv, envp); });
  va_end(ap);
  return r;
}

extern "C" int execlp(const char* file, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  const int r = from_list(arg, ap, false, [&](char* const* argv, char* const* envp) { return execvpe(file, argv, envp); });
  va_end(ap);
  return r;
}

extern "C" int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                           const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return guarded_spawn(libc_next(&g_spawn, "posix_spawn"), loads_library(AT_FDCWD, path, 0), pid, path, actions, attr,
                       argv, envp);
}

extern "C" int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                            const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return guarded_spawn(libc_next(&g_spawnp, "posix_spawnp"), found_loads_library(file), pid, file, actions, attr, argv,
                       envp);
}

// popen: glibc spawns /bin/sh with the process's environ, so environ is this
// completed copy for the moment of the call (another thread's setenv in that
// moment would be lost), and the signal is blocked by this thread meanwhile.
extern "C" FILE* popen(const char* command, const char* mode) {
  PopenFn fn = libc_next(&g_popen, "popen");
  if (!fn) return errno = ENOSYS, nullptr;
  if (!active()) return fn(command, mode);
  FILE* f = nullptr;
  guarded_exec(environ, loads_library(AT_FDCWD, kShell, 0), [&](char* const* env) {
    char** const saved = environ;
    environ = const_cast<char**>(env);
    f = fn(command, mode);
    environ = saved;
    return 0;
  });
  return f;
}

extern "C" int system(const char* line) {
  SystemFn fn = libc_next(&g_system, "system");
  if (!active() || !line) return fn ? fn(line) : -1;
  return run_shell(line);
}
