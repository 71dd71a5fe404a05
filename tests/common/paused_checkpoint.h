// Checkpointing a job that a test acts on while it runs, without a race with
// the job's end: the job is kept stopped (SIGSTOP) between checkpoints and
// computes only while a dump runs, so a short job outlives any number of
// checkpoints on any machine, and each one is waited for on the status line
// the library writes, never on an image number or a fixed time.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "ckpt/control.h"
#include "ckpt/signal_rule.h"

namespace ckptsim::test {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::seconds timeout = std::chrono::seconds(120)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// SIGSTOP the job and wait until it is stopped (state T).
inline bool pause_job(pid_t pid) {
  ::kill(pid, SIGSTOP);
  const std::string stat = "/proc/" + std::to_string(pid) + "/stat";
  return wait_until([&] {
    const std::string s = read_text(stat);
    const auto paren = s.rfind(')');
    return paren != std::string::npos && paren + 2 < s.size() && s[paren + 2] == 'T';
  });
}

// DIR/.ckpt-status as two reads 5 ms apart agree on it: the library rewrites
// it in place, and a read can meet a write half done. "" while absent.
inline std::string settled_status(const std::filesystem::path& img) {
  std::string a = read_text(img / ".ckpt-status");
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::string b = read_text(img / ".ckpt-status");
    if (a == b) return a;
    a = std::move(b);
  }
}

// For a job paused with pause_job, images in `img`: one checkpoint, as
// `ckptsim checkpoint` asks a stopped job for one (the signal queued with
// kStayStoppedRequest, then SIGCONT: the library stops the job again as soon
// as the dump no longer needs it running, so a forked dump's job does not
// compute while its writer writes), waited for until the status line says a
// new "ok" or "fail", and the job seen stopped again. True for a complete image.
inline bool checkpoint_paused(pid_t pid, const std::filesystem::path& img, int sig = SIGQUIT) {
  if (!wait_until([&] { return ckptsim::ckpt::catches_signal(pid, sig); })) return false;
  const std::string before = settled_status(img);
  union sigval value {};
  value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(ckptsim::ckpt::kStayStoppedRequest));
  ::sigqueue(pid, sig, value);
  ::kill(pid, SIGCONT);
  std::string now;
  const bool ended = wait_until([&] {
    now = settled_status(img);
    return now != before && (now.rfind("ok ", 0) == 0 || now.rfind("fail", 0) == 0);
  });
  return pause_job(pid) && ended && now.rfind("ok ", 0) == 0;
}

}  // namespace ckptsim::test
