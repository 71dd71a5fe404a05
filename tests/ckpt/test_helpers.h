// Shared helpers of the checkpoint tests: temp dirs, running commands, finding
// the job under `ckptsim run`, and validating an image against docs/image-format.md.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace ckpttest {

namespace fs = std::filesystem;

inline const std::string kBuild = CKPTSIM_BUILD_DIR;
inline const std::string kCkptsim = kBuild + "/ckptsim";
inline const std::string kMatmul = kBuild + "/ckpt-matmul";
inline const std::string kLib = kBuild + "/libckpt.so";

using ckptsim::test::TempDir;

struct CmdResult {
  int status = -1;  // exit code, or 128+signal
  std::string out, err;
};
// Runs a shell command line, capturing stdout and stderr.
CmdResult run_shell(const std::string& cmdline);

std::string read_file(const fs::path& p);
std::string shell_quote(const std::string& s);

// A background `ckptsim run --dir DIR -- ARGV...` with stdout to `out`, stderr to `err`.
struct RunningJob {
  pid_t run_pid = -1;
  pid_t job_pid = -1;
  // join_procs: a control group's cgroup.procs that `ckptsim run` joins before it starts.
  RunningJob(const fs::path& dir, const std::vector<std::string>& argv, const fs::path& out,
             const fs::path& err, const std::vector<std::string>& run_options = {},
             const std::string& join_procs = "");
  ~RunningJob();  // kills what is still running
  // Waits for `ckptsim run` to end; returns its exit status (128+sig if killed).
  int wait();
  RunningJob(const RunningJob&) = delete;
  RunningJob& operator=(const RunningJob&) = delete;
};

// True once pid catches `sig` (libckpt's constructor has run).
bool wait_until_catching(pid_t pid, int sig, std::chrono::seconds timeout = std::chrono::seconds(60));
bool wait_for_file(const fs::path& p, std::chrono::seconds timeout = std::chrono::seconds(120));
bool process_alive(pid_t pid);

// `ckptsim checkpoint PID --wait`; returns the printed image path ("" on failure).
std::string checkpoint_wait(pid_t pid, CmdResult* result = nullptr);

uint64_t xxh3_file(const fs::path& p);
std::string hex16(uint64_t v);

// What check_image found (it also records Catch2 CHECK failures).
struct ImageReport {
  nlohmann::json manifest;
  size_t load_segments = 0;
  std::vector<unsigned> note_types;
  bool hashes_ok = false;
};
// Validates a complete image: permissions, ELF structure through libelf, notes
// order, one PT_LOAD per manifest mapping, every checksum.
ImageReport check_image(const fs::path& image);

// A process tree's image (docs/image-format.md "Process trees"): tree.json
// (format, version, its own checksum, tree order), 0700/0600 throughout, and
// every live process's proc-PID through check_image.
struct TreeReport {
  nlohmann::json tree;
  std::vector<ImageReport> images;  // in tree.json's order, live processes only
  const nlohmann::json* process(pid_t pid) const;  // its entry in tree.json, or nullptr
};
TreeReport check_tree_image(const fs::path& image);

std::vector<std::string> image_names(const fs::path& dir);  // the ckpt-* entries, sorted
// No image, finished or begun (ckpt-*, .tmp-*, latest), in DIR.
bool no_image(const fs::path& img);

// Waits until dir holds at least `count` complete images, whatever their
// numbers: retention (--keep) removes old ones while periodic dumps go on, so a
// test must never wait for one particular ckpt-NNNN. (An image directory gets
// its ckpt- name only once it is complete.) False at the timeout.
bool wait_for_images(const fs::path& dir, size_t count,
                     std::chrono::seconds timeout = std::chrono::seconds(120));

// Waits until no forked writer holds dir's lock (image_dir.cpp): a job that
// ended may have left its last writer committing an image and removing old
// ones (--keep). False at the timeout.
bool wait_for_writers(const fs::path& dir, std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace ckpttest
