// libckpt.so's entry points: configuration at start-up and the checkpoint
// signal handler (signal_guard.cpp keeps the signal ours once it is installed).
// The project's mutable globals live in this library only (a preloaded library
// has nowhere else to keep them).
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/signal_rule.h"
#include "dump.h"
#include "exec_guard.h"
#include "hash.h"
#include "signal_guard.h"
#include "sys.h"
#include "tree.h"
#include "written_files.h"

namespace {

namespace fmt = ckptsim::image_format;

using ckptlib::Config;

constexpr size_t kAltStackSize = 256 << 10;

Config g_config;
bool g_dir_ok = false;  // g_config.dir is resolved

void say(const char* a, const char* b = "", const char* c = "") {
  ckptlib::write_all(2, a, strlen(a));
  ckptlib::write_all(2, b, strlen(b));
  ckptlib::write_all(2, c, strlen(c));
}

// The count 1..1000000 in environment variable `name`; `fallback` when it is
// unset or empty, and when it is not such a count (said, with `otherwise`).
uint32_t env_count(const char* name, uint32_t fallback, const char* otherwise) {
  const char* v = getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long n = strtol(v, &end, 10);
  if (*end == 0 && n >= 1 && n <= 1000000) return uint32_t(n);
  say("ckpt: ", name, " '");
  say(v, "' is not a count from 1 to 1000000; ", otherwise);
  say("\n");
  return fallback;
}

// CKPT_DIRTY: auto (default), kernel, checksum; anything else is said and
// taken as auto.
ckptlib::DirtyMode dirty_mode() {
  const char* v = getenv(fmt::env::kDirty);
  if (!v || !*v || strcmp(v, "auto") == 0) return ckptlib::DirtyMode::automatic;
  if (strcmp(v, "kernel") == 0) return ckptlib::DirtyMode::kernel;
  if (strcmp(v, "checksum") == 0) return ckptlib::DirtyMode::checksum;
  say("ckpt: ", fmt::env::kDirty, " '");
  say(v, "' is not auto, kernel or checksum; auto\n");
  return ckptlib::DirtyMode::automatic;
}

// "QUIT", "SIGQUIT", "quit", "3" -> 3; 0 when unknown or unusable.
int parse_signal(const char* s) {
  if (*s >= '0' && *s <= '9') {
    char* end = nullptr;
    long v = strtol(s, &end, 10);
    return (*end == 0 && v >= 1 && v <= 64 && ckptsim::ckpt::checkpoint_signal_ok(int(v))) ? int(v) : 0;
  }
  if (strncasecmp(s, "SIG", 3) == 0) s += 3;
  for (int sig = 1; sig < NSIG; ++sig) {
    const char* name = sigabbrev_np(sig);
    if (name && strcasecmp(name, s) == 0 && ckptsim::ckpt::checkpoint_signal_ok(sig)) return sig;
  }
  return 0;
}

void on_checkpoint_signal(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  // The first thread to take the signal dumps; every other one parks here
  // until the dump is over (threads.h). A member request (an ancestor's tree
  // dump, tree.h) makes it a member's dump; anything else is a dump of its own.
  siginfo_t next{};
  if (ckptlib::threads::lead_or_park(uc)) {
    long coordinator = 0;
    uint32_t nonce = 0;
    if (ckptlib::member_request(info, &coordinator, &nonce))
      ckptlib::run_member_checkpoint(g_config, sig, uc, coordinator, nonce);
    else
      ckptlib::run_checkpoint(g_config, sig, uc, ckptlib::stay_stopped_request(info), &next);
  }
  // Requests that arrived during the dump are served by it, and so is the
  // leader's own request to stop this thread: drop them.
  const uint64_t set = 1ull << (sig - 1);
  const struct timespec zero {};
  while (ckptlib::sys::rt_sigtimedwait(&set, nullptr, &zero) == sig) {
  }
  // A request sent while a job that was stopped when asked stayed stopped
  // after its dump (dump.cpp end_dump) was not served: raised again to this
  // thread, it is taken once the handler returns.
  if (next.si_signo == sig)
    ckptlib::sys::call6(SYS_rt_tgsigqueueinfo, ckptlib::sys::getpid(), ckptlib::sys::call6(SYS_gettid), sig,
                        ckptlib::sys::L(&next));
}

bool configure_dir() {
  const char* dir = getenv(fmt::env::kDir);
  if (!dir || !*dir) dir = fmt::kDefaultDir;
  char* out = g_config.dir;
  size_t len = 0;
  if (dir[0] != '/') {
    if (!getcwd(out, ckptlib::kPathMax - 2)) return false;
    len = strlen(out);
    if (len > 1) out[len++] = '/';
  }
  const size_t n = strlen(dir);
  if (len + n + 1 > ckptlib::kPathMax - 64) return false;
  memcpy(out + len, dir, n + 1);
  len += n;
  while (len > 1 && out[len - 1] == '/') out[--len] = 0;
  if (mkdir(out, 0700) != 0 && errno != EEXIST) return false;
  struct stat st;
  return stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

// The configuration, the signal stack and the handler; the signal it is
// installed for, or 0 when checkpoints are disabled. The signal is left
// blocked (*blocked: by us) until the constructor has done its lookups.
int install(bool* blocked) {
  ckptlib::choose_hash_ops();
  g_config.glibc_version = gnu_get_libc_version();
  g_config.page_size = uint64_t(sysconf(_SC_PAGESIZE));
  const char* fs = getenv(fmt::env::kFsync);
  g_config.fsync = !(fs && strcmp(fs, "0") == 0);
  const char* forked = getenv(fmt::env::kFork);
  g_config.fork = forked && strcmp(forked, "1") == 0;
  const char* incremental = getenv(fmt::env::kIncremental);
  g_config.incremental = incremental && strcmp(incremental, "1") == 0;
  g_config.dirty = dirty_mode();
  g_config.max_chain = env_count(fmt::env::kMaxChain, 8, "chains of 8");
  g_config.keep = env_count(fmt::env::kKeep, 0, "every image is kept");
  const char* signame = getenv(fmt::env::kSignal);
  g_config.signal = signame && *signame ? parse_signal(signame) : SIGQUIT;
  if (!g_config.signal) {
    say("ckpt: unknown or unusable CKPT_SIGNAL '", signame, "'; checkpoints disabled\n");
    return 0;
  }
  if (!configure_dir()) {
    say("ckpt: cannot use checkpoint directory ", g_config.dir[0] ? g_config.dir : getenv(fmt::env::kDir),
        ": checkpoints will fail\n");
  } else {
    g_dir_ok = true;
    char path[ckptlib::kPathMax + 32];
    snprintf(path, sizeof path, "%s/%s", g_config.dir, fmt::kStatusFile);
    if (access(path, F_OK) != 0) ckptlib::write_status(g_config, "idle 0", 6);
  }

  stack_t ss{};
  ss.ss_sp = mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ss.ss_size = kAltStackSize;
  if (ss.ss_sp == MAP_FAILED || sigaltstack(&ss, nullptr) != 0) {
    say("ckpt: cannot set up the signal stack; checkpoints disabled\n");
    return 0;
  }
  struct sigaction sa {};
  sa.sa_sigaction = on_checkpoint_signal;
  sa.sa_flags = SA_RESTART | SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ckptlib::signal_guard::SigactionFn real = ckptlib::signal_guard::real_sigaction();
  // Not taken while the rest of the constructor runs: its dlsym and dladdr
  // calls hold ld.so's recursive lock, which records its owner's thread id; a
  // dump taken inside one restores (under another id) into a lock that no
  // thread can release, and the restored job hangs at its next lookup.
  const uint64_t bit = 1ull << (g_config.signal - 1);
  uint64_t old = 0;
  *blocked = ckptlib::sys::rt_sigprocmask(SIG_BLOCK, &bit, &old) == 0 && !(old & bit);
  if (!real || real(g_config.signal, &sa, nullptr) != 0) return 0;
  ckptlib::signal_guard::guard(g_config.signal);
  pthread_atfork(nullptr, nullptr, ckptlib::dirty_after_fork);
  return g_config.signal;
}

__attribute__((constructor)) void ckpt_start() {
  const int saved_errno = errno;
  // The exec guard of the image before this one may have blocked a signal for
  // the exec (exec_guard.cpp): unblocked once the handler is in, so one that
  // came meanwhile is taken now. A block the program made itself stays.
  const int blocked_for_exec = ckptlib::exec_guard::take_mark();
  bool blocked_here = false;
  const int sig = install(&blocked_here);
  ckptlib::exec_guard::start(sig, g_dir_ok ? g_config.dir : nullptr);
  ckptlib::written_files::start(sig && g_dir_ok ? g_config.dir : nullptr);
  // Every lookup done: a checkpoint signal that came meanwhile is taken now.
  if (blocked_here) {
    const uint64_t bit = 1ull << (g_config.signal - 1);
    ckptlib::sys::rt_sigprocmask(SIG_UNBLOCK, &bit, nullptr);
  }
  if (blocked_for_exec) {
    const uint64_t bit = 1ull << (blocked_for_exec - 1);
    ckptlib::sys::rt_sigprocmask(SIG_UNBLOCK, &bit, nullptr);
  }
  errno = saved_errno;
}

}  // namespace
