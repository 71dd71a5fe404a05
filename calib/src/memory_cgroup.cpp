// The memory-limited control group of `calibrate --memory-limit`.
#include "calib/memory_cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace ckptsim::calib {

namespace {

constexpr const char* kPrefix = "ckptsim-calib-";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(s);
  while (std::getline(in, item, sep)) out.push_back(item);
  return out;
}

// Writes text to a cgroup file; errno text on failure ("" when it worked).
std::string write_file(const fs::path& f, const std::string& text) {
  std::ofstream out(f);
  if (!out) return std::strerror(errno);
  out << text;
  out.flush();
  if (!out) return std::strerror(errno ? errno : EIO);
  return "";
}

std::string read_text(const fs::path& f) {
  std::ifstream in(f);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t read_number(const fs::path& f) {
  try {
    return std::stoull(read_text(f));
  } catch (...) {
    return 0;
  }
}

// "key N" lines (memory.oom_control, memory.events).
uint64_t keyed(const fs::path& f, const std::string& key) {
  std::istringstream in(read_text(f));
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

std::vector<pid_t> tasks(const fs::path& dir) {
  std::vector<pid_t> out;
  std::istringstream in(read_text(dir / "cgroup.procs"));
  pid_t p = 0;
  while (in >> p) out.push_back(p);
  return out;
}

// Kill whatever is in dir, wait until it is empty, remove it. False if it stays.
bool remove_group(const fs::path& dir) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    for (pid_t p : tasks(dir)) ::kill(p, SIGKILL);
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// A leftover of a calibration that was killed (its pid is gone).
void remove_stale(const fs::path& parent) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(name.c_str() + std::strlen(kPrefix), &end, 10);
    if (pid <= 0 || *end) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    remove_group(e.path());
  }
}

}  // namespace

uint64_t parse_memory_size(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty size");
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    throw std::invalid_argument("'" + text + "' is not a size (e.g. 640M, 1.5G)");
  }
  std::string unit = text.substr(used);
  if (!unit.empty() && (unit.back() == 'B' || unit.back() == 'b') && unit.size() > 1) unit.pop_back();  // "640MB"
  double mult = 1;
  if (unit.empty()) mult = 1;
  else if (unit == "K" || unit == "k") mult = 1024.0;
  else if (unit == "M" || unit == "m") mult = 1024.0 * 1024;
  else if (unit == "G" || unit == "g") mult = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "t") mult = 1024.0 * 1024 * 1024 * 1024;
  else throw std::invalid_argument("'" + text + "' has an unknown unit (K, M, G or T)");
  if (!std::isfinite(v) || v <= 0 || text[0] == '-' || text[0] == '+')
    throw std::invalid_argument("'" + text + "' is not a positive size");
  const double bytes = v * mult;
  if (bytes >= 9.0e18) throw std::invalid_argument("'" + text + "' is too large");
  return static_cast<uint64_t>(bytes);
}

fs::path MemoryCgroup::own_memory_cgroup(int* version) {
  // Where the memory controller is mounted (v1) or the unified hierarchy (v2).
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  fs::path v1_mount, v1_root, v2_mount, v2_root;
  while (std::getline(mi, line)) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    const auto pre = split(line.substr(0, dash), ' ');
    const auto post = split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    if (post[0] == "cgroup") {
      for (const auto& opt : split(post[2], ','))
        if (opt == "memory") v1_mount = pre[4], v1_root = pre[3];
    } else if (post[0] == "cgroup2" && v2_mount.empty()) {
      v2_mount = pre[4], v2_root = pre[3];
    }
  }
  // Our own group in that hierarchy, from /proc/self/cgroup.
  std::ifstream pc("/proc/self/cgroup");
  std::string v1_path, v2_path;
  while (std::getline(pc, line)) {
    const auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (ctrls.empty() && line.substr(0, a) == "0") v2_path = path;
    for (const auto& c : split(ctrls, ','))
      if (c == "memory") v1_path = path;
  }
  auto join = [](const fs::path& mount, const fs::path& root, const std::string& path) {
    // The mount shows the hierarchy from `root` down; our path is absolute in it.
    std::string rel = path;
    const std::string r = root.string();
    if (r != "/" && rel.rfind(r, 0) == 0) rel = rel.substr(r.size());
    return mount / fs::path(rel).relative_path();
  };
  std::error_code ec;
  if (!v1_mount.empty() && !v1_path.empty()) {
    const fs::path dir = join(v1_mount, v1_root, v1_path);
    if (fs::exists(dir / "memory.limit_in_bytes", ec)) {
      if (version) *version = 1;
      return dir;
    }
  }
  if (!v2_mount.empty() && !v2_path.empty()) {
    const fs::path dir = join(v2_mount, v2_root, v2_path);
    if (read_text(dir / "cgroup.controllers").find("memory") != std::string::npos) {
      if (version) *version = 2;
      return dir;
    }
  }
  throw CgroupUnavailable("no memory controller: neither a cgroup v1 'memory' hierarchy nor cgroup v2 with 'memory' "
                          "(see /proc/self/mountinfo and /proc/self/cgroup)");
}

MemoryCgroup::MemoryCgroup(uint64_t limit_bytes) : limit_(limit_bytes) {
  const fs::path parent = own_memory_cgroup(&version_);
  remove_stale(parent);
  if (version_ == 2) {
    // Children get the memory controller only if the parent hands it down.
    std::istringstream sub(read_text(parent / "cgroup.subtree_control"));
    std::string c;
    bool on = false;
    while (sub >> c) on = on || c == "memory";
    if (!on) {
      const std::string err = write_file(parent / "cgroup.subtree_control", "+memory");
      if (!err.empty())
        throw CgroupUnavailable("cannot enable the memory controller for children of " + parent.string() + ": " + err);
    }
  }
  dir_ = parent / (kPrefix + std::to_string(::getpid()));
  if (::mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    const std::string why = std::strerror(errno);
    throw CgroupUnavailable("cannot create the control group " + dir_.string() + ": " + why +
                            (errno == EACCES || errno == EPERM ? " (run as root)" : ""));
  }
  const std::string err =
      write_file(dir_ / (version_ == 1 ? "memory.limit_in_bytes" : "memory.max"), std::to_string(limit_bytes));
  if (!err.empty()) {
    remove_group(dir_);
    throw CgroupUnavailable("cannot set the memory limit of " + dir_.string() + ": " + err);
  }
}

MemoryCgroup::~MemoryCgroup() {
  if (!remove_group(dir_))
    std::fprintf(stderr, "ckptsim: warning: could not remove the control group %s (tasks remain in it)\n",
                 dir_.c_str());
}

CgroupCounters MemoryCgroup::counters() const {
  CgroupCounters c;
  if (version_ == 1) {
    c.oom_kills = keyed(dir_ / "memory.oom_control", "oom_kill");
    c.limit_hits = read_number(dir_ / "memory.failcnt");
    c.peak_bytes = read_number(dir_ / "memory.max_usage_in_bytes");
  } else {
    c.oom_kills = keyed(dir_ / "memory.events", "oom_kill");
    c.limit_hits = keyed(dir_ / "memory.events", "max");
    c.peak_bytes = read_number(dir_ / "memory.peak");
  }
  return c;
}

void MemoryCgroup::reset_peak() {
  if (version_ == 1) write_file(dir_ / "memory.max_usage_in_bytes", "0");
}

void MemoryCgroup::reclaim() {
  if (version_ == 1) write_file(dir_ / "memory.force_empty", "0");
  else write_file(dir_ / "memory.reclaim", std::to_string(limit_));
}

void MemoryCgroup::kill_all() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    const auto t = tasks(dir_);
    if (t.empty() || std::chrono::steady_clock::now() > deadline) return;
    for (pid_t p : t) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace ckptsim::calib
