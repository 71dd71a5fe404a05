// A memory-limited control group for one calibration (`calibrate
// --memory-limit`): this machine stands in for a node with that much RAM.
// Created fresh as a child of our own memory cgroup (v1 memory controller, or
// v2 with "memory" enabled for children), removed when the object goes: every
// task still in it is killed first, so no error path or Ctrl-C leaves one.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace ckptsim::calib {

// Cgroups cannot be used here (not root, no memory controller, a refused
// limit): one line saying what was tried.
struct CgroupUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "640M", "1.5G", "65536", "512K" (powers of 1024; a bare number is bytes).
// Throws std::invalid_argument naming the problem.
uint64_t parse_memory_size(const std::string& text);

// Counters of the group, cumulative since it was created (peak since the last
// reset_peak on v1; since creation on v2).
struct CgroupCounters {
  uint64_t oom_kills = 0;   // tasks the OOM killer ended (oom_control/events "oom_kill")
  uint64_t limit_hits = 0;  // v1 memory.failcnt, v2 memory.events "max": reclaim forced by the limit
  uint64_t peak_bytes = 0;  // v1 memory.max_usage_in_bytes, v2 memory.peak
};

class MemoryCgroup {
 public:
  // Fresh group ckptsim-calib-<our pid> with the RAM limit (swap, if the
  // machine has any, stays usable: the node has this RAM and the machine's
  // swap). Removes stale ckptsim-calib-<dead pid> groups first (a calibration
  // killed with SIGKILL cannot clean up). Throws CgroupUnavailable.
  explicit MemoryCgroup(uint64_t limit_bytes);
  ~MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  const std::filesystem::path& path() const { return dir_; }
  // The file a child writes its own pid to, before exec, to join the group.
  std::string procs_file() const { return (dir_ / "cgroup.procs").string(); }
  int version() const { return version_; }

  CgroupCounters counters() const;
  void reset_peak();
  // With no task left in it: gives back the page cache charged to the group
  // (the images the last row wrote), so each phase starts from an empty node.
  void reclaim();
  // SIGKILL every task in the group and wait (up to 5 s) until it is empty.
  void kill_all();

  // The memory cgroup directory this process is in (for tests and messages);
  // throws CgroupUnavailable when there is no usable memory controller.
  static std::filesystem::path own_memory_cgroup(int* version = nullptr);

 private:
  std::filesystem::path dir_;
  uint64_t limit_ = 0;
  int version_ = 1;
};

}  // namespace ckptsim::calib
