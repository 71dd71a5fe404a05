// What we read about processes and the machine from /proc, statfs and uname.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace ckptsim::calib {

struct ProcessSize {
  uint64_t rss_bytes = 0;     // VmRSS
  uint64_t mapped_bytes = 0;  // sum of every /proc/PID/maps range
};
// Throws std::runtime_error if the process is gone.
ProcessSize process_size(pid_t pid);

// utime + stime in clock ticks (/proc/PID/stat), and its state letter ('R', 'S', 'Z'...).
struct ProcessStat {
  uint64_t cpu_ticks = 0;
  char state = '?';
};
// nullopt-like: state '?' when the process does not exist.
ProcessStat process_stat(pid_t pid);

// Byte-for-byte: a job's output against the reference run's (calibrate's
// run-to-the-end check, every finished job of `ckptsim experiment`).
bool files_equal(const std::filesystem::path& a, const std::filesystem::path& b);

uint64_t mem_available_bytes();  // /proc/meminfo MemAvailable
uint64_t mem_total_bytes();
uint64_t swap_out_pages();       // /proc/vmstat pswpout (cumulative)

struct DirSize {
  uint64_t apparent_bytes = 0;  // what is copied
  uint64_t disk_bytes = 0;      // du: allocated blocks
  int files = 0;
};
DirSize dir_size(const std::filesystem::path& dir);

// "ext2/ext3/ext4", "tmpfs", "xfs"... from statfs f_type (hex if unknown).
std::string fs_type(const std::filesystem::path& p);

// CPU model, cores, memory, kernel, glibc, hostname, fs of work_dir.
nlohmann::json describe_machine(const std::filesystem::path& work_dir);

struct DiskRates {
  double write_Bps = 0;  // sequential write + fsync
  double read_Bps = 0;   // sequential read after dropping the file's pages
};
// Writes and reads back `bytes` in dir (a scratch file, removed).
DiskRates probe_disk(const std::filesystem::path& dir, uint64_t bytes);

// A directory shared by the nodes (calibrate --shared-dir): `writers` threads
// each write and fsync their share of `bytes` at once, then read it back
// together after dropping its pages; plus one writer alone (the per-client
// rate). Scratch files removed; std::runtime_error naming the file on failure.
struct SharedRates {
  double write_Bps = 0, read_Bps = 0, client_write_Bps = 0;
};
SharedRates probe_shared_dir(const std::filesystem::path& dir, uint64_t bytes, int writers);

}  // namespace ckptsim::calib
