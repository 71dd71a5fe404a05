#include "harness.h"

#include <cstdio>

#include "ckpt/image_format.h"

#include "ckpt/control.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace restart_test {

std::string build_path(const std::string& name) { return std::string(CKPTSIM_BUILD_DIR) + "/" + name; }
std::string ckptsim_exe() { return build_path("ckptsim"); }
std::string prog(const std::string& name) { return build_path("tests/restart/" + name); }

std::string image_name(int seq) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%04d", seq);
  return ckptsim::image_format::kImagePrefix + std::string(digits);
}

pid_t spawn(const std::vector<std::string>& argv, const fs::path& cwd, const Redirect& io) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    int in = ::open(io.in.c_str(), O_RDONLY);
    int out = ::open(io.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(io.err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0), ::dup2(out, 1), ::dup2(err, 2);
    ::syscall(SYS_close_range, 3, ~0U, 0);  // the job must not inherit the test's descriptors
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

int run(const std::vector<std::string>& argv, const fs::path& cwd, const Redirect& io) {
  return wait_status(spawn(argv, cwd, io));
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
bool file_contains(const fs::path& p, const std::string& text) { return read_file(p).find(text) != std::string::npos; }
void write_file(const fs::path& p, const std::string& content) { std::ofstream(p, std::ios::binary) << content; }
void append_file(const fs::path& p, const std::string& content) {
  std::ofstream(p, std::ios::binary | std::ios::app) << content;
}

Job start_job(const fs::path& img, const std::vector<std::string>& argv, const fs::path& cwd, const Redirect& io,
              const std::vector<std::string>& run_options) {
  std::vector<std::string> full{ckptsim_exe(), "run", "--dir", img.string()};
  full.insert(full.end(), run_options.begin(), run_options.end());
  full.push_back("--");
  full.insert(full.end(), argv.begin(), argv.end());
  Job job;
  job.runner = spawn(full, cwd, io);
  const std::string children = "/proc/" + std::to_string(job.runner) + "/task/" + std::to_string(job.runner) + "/children";
  eventually([&] {
    std::istringstream in(read_file(children));
    return static_cast<bool>(in >> job.pid);
  });
  return job;
}

bool checkpoint(pid_t pid) {
  return run({ckptsim_exe(), "checkpoint", std::to_string(pid), "--wait"}, "/", Redirect{}) == 0;
}

bool checkpoint_now(pid_t pid, const fs::path& img) {
  // A job just started may not have run libckpt.so's constructor yet, and the
  // signal would kill it.
  if (!eventually([&] { return ckptsim::ckpt::catches_signal(pid, SIGQUIT); })) return false;
  if (!pause_job(pid)) return false;
  std::error_code ec;
  const fs::path before = fs::read_symlink(img / "latest", ec);
  ::kill(pid, SIGQUIT);
  ::kill(pid, SIGCONT);
  return eventually([&] {
    std::error_code e;
    const fs::path now = fs::read_symlink(img / "latest", e);
    return !e && now != before;
  });
}

void kill_job(Job& job) {
  if (job.pid > 0) ::kill(job.pid, SIGKILL);
  if (job.runner > 0) wait_status(job.runner);
  job = Job{};
}

Job checkpoint_kill_restart_chain(const fs::path& dir, const fs::path& img, Job job, int cycles) {
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    INFO("cycle " << cycle);
    REQUIRE(checkpoint_now(job.pid, img));
    ::kill(job.pid, SIGKILL);
    wait_status(job.runner);
    const fs::path pid_file = dir / ("pid-" + std::to_string(cycle));
    Redirect io;
    io.err = (dir / "restart-stderr.txt").string();
    job.runner = spawn({ckptsim_exe(), "restart", (img / "latest").string(), "--pid-file", pid_file.string()},
                       dir / "run", io);
    if (!eventually([&] { return fs::exists(pid_file) && read_file(pid_file).find('\n') != std::string::npos; })) {
      // Say why: the restarter's own words, and whether it is still there.
      const bool running = ::kill(job.runner, 0) == 0;
      FAIL("no job from `ckptsim restart` (" << (running ? "still running" : "ended") << "); its stderr: "
                                             << read_file(io.err));
    }
    job.pid = std::stoi(read_file(pid_file));
    char name[32];
    std::snprintf(name, sizeof name, "ckpt-%04d", cycle);
    CHECK(fs::exists(img / name));
  }
  return job;
}

std::vector<pid_t> processes_running(const std::string& exe, const fs::path& under) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    auto target = fs::read_symlink(e.path() / "exe", ec);
    if (ec || target != exe) continue;
    if (!under.empty()) {
      const std::string cwd = fs::read_symlink(e.path() / "cwd", ec).string();
      if (ec || cwd.rfind(under.string(), 0) != 0) continue;
    }
    out.push_back(std::stoi(name));
  }
  return out;
}

void write_signed_manifest(const fs::path& image, std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (!text.empty() && text.back() == '}') text.pop_back();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  write_file(image / "manifest.json", text + ",\"manifest_xxh3\":\"" + hex + "\"}\n");
}

std::map<std::string, std::string> fingerprint(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    std::string content = e.is_regular_file() ? read_file(e.path()) : "";
    out[fs::relative(e.path(), dir).string()] = std::to_string(XXH3_64bits(content.data(), content.size())) + " mode " +
                                                  std::to_string(st.st_mode) + " size " + std::to_string(st.st_size);
  }
  return out;
}

RestartResult restart(const std::vector<std::string>& args, const fs::path& cwd, const std::string& out) {
  static int counter = 0;
  const fs::path err = fs::temp_directory_path() /
                       ("ckptsim-restart-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::vector<std::string> full{ckptsim_exe(), "restart"};
  full.insert(full.end(), args.begin(), args.end());
  RestartResult r;
  r.status = run(full, cwd, Redirect{"/dev/null", out, err.string()});
  r.stderr_text = read_file(err);
  fs::remove(err);
  return r;
}

}  // namespace restart_test
