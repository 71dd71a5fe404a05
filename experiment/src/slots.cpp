// Node slots and the pinned, grouped processes that run on them.
#include "slots.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "experiment/experiment.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {

std::vector<int> usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return {0};
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

void make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec) throw RunFailed("cannot create " + dir.string() + ": " + ec.message());
}

std::vector<Slot> make_slots(int regular, int spares, const fs::path& root) {
  const std::vector<int> cpus = usable_cpus();
  std::vector<Slot> slots;
  for (int i = 0; i < regular + spares; ++i) {
    Slot s;
    s.index = i;
    s.cpu = cpus[static_cast<size_t>(i) % cpus.size()];
    s.spare = i >= regular;
    s.dir = root / ("slot-" + std::to_string(i + 1));
    s.incoming = s.dir / "incoming";
    make_private_dir(s.dir);
    make_private_dir(s.incoming);
    slots.push_back(s);
  }
  return slots;
}

void clean_slot(const Slot& slot) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(slot.dir, ec))
    if (e.path() != slot.incoming) fs::remove_all(e.path(), ec);
  for (const auto& e : fs::directory_iterator(slot.incoming, ec)) fs::remove_all(e.path(), ec);
}

pid_t spawn_pinned(const std::vector<std::string>& argv, int cpu, const fs::path& log) {
  // Everything the child needs is prepared before fork: it only makes system calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out < 0) throw RunFailed("cannot open " + log.string() + ": " + std::strerror(errno));
  const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // The parent blocks or catches some signals; a job starts with defaults.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  const int err = errno;
  ::close(out);
  if (in >= 0) ::close(in);
  if (pid < 0) throw RunFailed(std::string("fork: ") + std::strerror(err));
  ::setpgid(pid, pid);  // also from here, so a kill right away reaches the group
  return pid;
}

void kill_group(pid_t pid) {
  if (pid > 0) ::kill(-pid, SIGKILL);
}

}  // namespace ckptsim::experiment
