// Starting a program under libckpt.so: find and check it, prepare the image
// directory, fork/exec it as a child with the library preloaded, relay
// SIGINT/SIGTERM, send periodic checkpoint signals, pass on its exit status.
#include <elf.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "checkpoint_timer.h"
#include "ckpt/control.h"

static_assert(ckptsim::ckpt::kMinIntervalS == 1e-4 && ckptsim::ckpt::kMaxDurationS == 1e6,
              "the messages below state these bounds");

namespace fs = std::filesystem;

namespace ckptsim::ckpt {

namespace {

std::string errtext(int err) { return std::strerror(err); }

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

// The library can only be preloaded into a dynamically linked ELF (one with
// PT_INTERP); a script is fine (its interpreter is what runs).
void check_dynamic(const fs::path& prog) {
  std::ifstream in(prog, std::ios::binary);
  Elf64_Ehdr eh{};
  in.read(reinterpret_cast<char*>(&eh), sizeof eh);
  if (in.gcount() >= 2 && eh.e_ident[0] == '#' && eh.e_ident[1] == '!') return;
  if (in.gcount() != sizeof eh || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    throw CkptError("program '" + prog.string() + "' is not an ELF executable");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
    throw CkptError("program '" + prog.string() + "' is not an x86-64 executable");
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    in.seekg(std::streamoff(eh.e_phoff + uint64_t(i) * eh.e_phentsize));
    in.read(reinterpret_cast<char*>(&ph), sizeof ph);
    if (!in) break;
    if (ph.p_type == PT_INTERP) return;
  }
  throw CkptError("program '" + prog.string() +
                  "' is statically linked; libckpt.so can only be preloaded into dynamically linked programs");
}

// Creates dir (0700) if needed and proves it is a writable directory.
fs::path prepare_dir(const fs::path& dir) {
  if (dir.empty()) throw CkptError("the checkpoint directory must not be empty");
  const fs::path abs = fs::absolute(dir).lexically_normal();
  if (::mkdir(abs.c_str(), 0700) != 0 && errno != EEXIST)
    throw CkptError("cannot create checkpoint directory " + abs.string() + ": " + errtext(errno));
  struct stat st;
  if (::stat(abs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw CkptError("checkpoint directory " + abs.string() + " is not a directory");
  // access() says yes to root even on a read-only mount: really create something.
  std::string probe = (abs / ".probe-XXXXXX").string();
  int fd = ::mkstemp(probe.data());
  if (fd < 0) throw CkptError("checkpoint directory " + abs.string() + " is not writable: " + errtext(errno));
  ::close(fd);
  ::unlink(probe.c_str());
  return abs;
}

// The signals `run` handles itself; blocked in the parent, restored in the child.
sigset_t relay_set(int checkpoint_signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  if (checkpoint_signal >= 1 && checkpoint_signal <= 64) sigaddset(&set, checkpoint_signal);
  return set;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 128 + SIGKILL;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// --checkpoint-on-term: an image first, then the job goes. A job that cannot
// be checkpointed (no handler yet, a refused dump) is stopped all the same:
// the scheduler is taking the node back.
int checkpoint_and_stop(pid_t pid, int why, int checkpoint_signal) {
  // A signal that comes as the job starts waits (up to kHandlerWaitS) for
  // libckpt's handler: the job is about to be stopped, not asked to carry on.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::duration<double>(kHandlerWaitS);
  siginfo_t ended{};
  while (!catches_signal(pid, checkpoint_signal) && std::chrono::steady_clock::now() < give_up &&
         ::waitid(P_PID, pid, &ended, WEXITED | WNOHANG | WNOWAIT) == 0 && ended.si_pid == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  try {
    const CheckpointResult r = request_checkpoint(pid, true);
    std::fprintf(stderr, "ckptsim: run: signal %d: checkpointed to %s in %.2f s; job stopped\n", why,
                 r.image.c_str(), r.seconds);
    ::kill(pid, SIGKILL);
    wait_status(pid);
    return kExitCheckpointed;
  } catch (const CkptError& e) {
    std::fprintf(stderr, "ckptsim: run: signal %d: no checkpoint (%s); job stopped without one\n", why, e.what());
    ::kill(pid, SIGTERM);
    return wait_status(pid);
  }
}

pid_t spawn_with_mask(const RunOptions& opts, const sigset_t* child_mask) {
  if (opts.argv.empty()) throw CkptError("no program given");
  const fs::path prog = resolve_program(opts.argv[0]);
  check_dynamic(prog);
  const fs::path lib = opts.lib.empty() ? find_libckpt() : opts.lib;
  const fs::path dir = prepare_dir(opts.dir);

  std::string preload = fs::absolute(lib).string();
  if (const char* old = std::getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
  std::vector<char*> args;
  for (const auto& a : opts.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string signal = std::to_string(opts.signal);
  const std::string keep = std::to_string(opts.keep);
  const std::string max_chain = std::to_string(opts.max_chain);

  // Exec failures come back through a close-on-exec pipe.
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw CkptError(std::string("pipe: ") + errtext(errno));
  FdCloser read_end{pipefd[0]}, write_end{pipefd[1]};
  const pid_t pid = ::fork();
  if (pid < 0) throw CkptError(std::string("fork: ") + errtext(errno));
  if (pid == 0) {
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    namespace env = image_format::env;
    ::setenv(env::kDir, dir.c_str(), 1);
    ::setenv(env::kSignal, signal.c_str(), 1);
    if (opts.keep) ::setenv(env::kKeep, keep.c_str(), 1);
    if (opts.fork) ::setenv(env::kFork, "1", 1);
    if (opts.incremental) {
      ::setenv(env::kIncremental, "1", 1);
      ::setenv(env::kMaxChain, max_chain.c_str(), 1);
      if (!opts.dirty.empty()) ::setenv(env::kDirty, opts.dirty.c_str(), 1);
    }
    if (child_mask) ::sigprocmask(SIG_SETMASK, child_mask, nullptr);
    // The job's first process is a child subreaper (kept across the exec): a
    // descendant that detaches itself (double fork, setsid) is reparented to
    // it instead of to init, and so stays in the tree a checkpoint collects.
    if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
      int err = errno;
      (void)!::write(pipefd[1], &err, sizeof err);
      ::_exit(127);
    }
    // The job starts with a clean fd table, as a batch system would start it:
    // descriptors the caller happened to inherit (a harness's pipes, say) are
    // not the job's, and an image holding them could not be restored elsewhere.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv(prog.c_str(), args.data());
    int err = errno;
    (void)!::write(pipefd[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(pipefd[1]);
  write_end.fd = -1;
  int err = 0;
  ssize_t n;
  do n = ::read(pipefd[0], &err, sizeof err);
  while (n < 0 && errno == EINTR);
  if (n == sizeof err) {
    ::waitpid(pid, nullptr, 0);
    throw CkptError("cannot execute " + prog.string() + ": " + errtext(err));
  }
  return pid;
}

}  // namespace

fs::path resolve_program(const std::string& prog) {
  auto usable = [](const fs::path& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (prog.find('/') != std::string::npos) {
    if (!usable(prog)) throw CkptError("program '" + prog + "' not found or not executable");
    return fs::absolute(prog);
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    fs::path dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    if (usable(dir / prog)) return fs::absolute(dir / prog);
    start = end + 1;
  }
  throw CkptError("program '" + prog + "' not found on PATH");
}

fs::path find_libckpt() {
  if (const char* env = std::getenv("CKPTSIM_LIB"); env && *env) {
    if (!fs::exists(env)) throw CkptError(std::string("CKPTSIM_LIB=") + env + " does not exist");
    return fs::absolute(env);
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path lib = self.parent_path() / "libckpt.so";
    if (fs::exists(lib)) return lib;
  }
  throw CkptError("libckpt.so not found next to " + self.string() + " (set CKPTSIM_LIB)");
}

pid_t spawn_preloaded(const RunOptions& opts) { return spawn_with_mask(opts, nullptr); }

RelayMask::RelayMask(int checkpoint_signal) {
  const sigset_t relay = relay_set(checkpoint_signal);
  ::sigprocmask(SIG_BLOCK, &relay, &old_);
}

RelayMask::~RelayMask() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }

int run_preloaded(const RunOptions& opts) {
  if (!opts.auto_interval && !(opts.interval_s == 0 || (opts.interval_s >= kMinIntervalS && opts.interval_s <= kMaxDurationS)))
    throw CkptError("--interval must be 0 (never) or between 0.0001 and 1000000 seconds");
  RelayMask mask(opts.signal);
  return supervise(spawn_with_mask(opts, &mask.old_mask()), opts);
}

int supervise(pid_t pid, const RunOptions& opts) {
  const sigset_t relay = relay_set(opts.signal);
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  const auto handler_wait = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(kHandlerWaitS));
  CheckpointTimer timer(opts, started);
  bool handler_seen = false;  // the job has caught the signal at least once
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      continue;
    }
    if (r < 0 && errno != EINTR) throw CkptError(std::string("waitpid: ") + errtext(errno));
    timer.poll(clock::now());
    if (timer.due(clock::now())) {
      // Only while libckpt's handler is installed: before its constructor has
      // run (or right after an exec) the signal's default action would kill the job.
      if (catches_signal(pid, opts.signal)) {
        ::kill(pid, opts.signal);
        handler_seen = true;
        timer.sent(clock::now());
        continue;
      }
      if (!handler_seen && clock::now() - started > handler_wait) {
        std::fprintf(stderr, "ckptsim: run: process %d has not installed libckpt.so's handler for signal %d "
                     "after %.0f s; no periodic checkpoints will be sent\n", int(pid), opts.signal, kHandlerWaitS);
        timer.stop();
        continue;
      }
    }
    auto left = timer.wait(clock::now());
    if (left <= clock::duration::zero()) left = std::chrono::milliseconds(1);  // a child's exit still wakes us
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    struct timespec wait_for {};
    wait_for.tv_sec = ns / 1000000000;
    wait_for.tv_nsec = ns % 1000000000;
    siginfo_t info;
    const int sig = ::sigtimedwait(&relay, &info, &wait_for);
    if (opts.checkpoint_on_term && (sig == SIGTERM || sig == opts.signal)) return checkpoint_and_stop(pid, sig, opts.signal);
    if (sig == SIGINT || sig == SIGTERM) ::kill(pid, sig);
    else if (sig == opts.signal && catches_signal(pid, sig)) ::kill(pid, sig);  // a checkpoint, asked of run
  }
}

}  // namespace ckptsim::ckpt
