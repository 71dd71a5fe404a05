// How long each restore phase took, one line each on stderr when asked
// (`restart --timing`: the benchmark and calibration want to know where
// restore time goes).
#pragma once
#include <chrono>
#include <cstdio>

namespace ckptsim::restart {

class PhaseClock {
 public:
  explicit PhaseClock(bool on) : on_(on), last_(std::chrono::steady_clock::now()) {}
  void done(const char* phase) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "restart: %-14s %.4f s\n", phase, std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  bool on_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace ckptsim::restart
