// When `run` sends the next periodic checkpoint signal: every fixed interval,
// or (--interval auto) an interval chosen again after every complete image
// from what that dump cost the job. While an auto dump is in flight no signal
// is due: the next interval depends on its measurement.
#pragma once
#include <chrono>
#include <deque>
#include <filesystem>
#include <string>

#include "ckpt/control.h"
#include "status.h"

namespace ckptsim::ckpt {

class CheckpointTimer {
 public:
  using clock = std::chrono::steady_clock;

  CheckpointTimer(const RunOptions& opts, clock::time_point start);

  void stop() { active_ = false; }
  // How long supervise may sleep before calling due()/poll() again.
  clock::duration wait(clock::time_point now) const;
  bool due(clock::time_point now) const { return active_ && !in_flight_ && now >= next_; }
  // A signal has just been sent.
  void sent(clock::time_point now);
  // --interval auto: reads DIR/.ckpt-status while a dump is in flight; when it
  // is complete (or failed), logs the decision and sets the next due time.
  void poll(clock::time_point now);

 private:
  void decide(double cost_s, const std::string& what, clock::time_point resumed);
  // Logs "WHAT; THEN <period> s" and keeps the period, due from now.
  void retry_later(clock::time_point now, const std::string& what, const char* then);
  double image_cost_s(const std::string& image, std::string* size_note) const;

  const RunOptions& opts_;
  std::filesystem::path dir_;
  bool active_ = false;
  bool in_flight_ = false;
  clock::duration period_{};
  clock::time_point next_{};
  clock::time_point sent_at_{};
  DumpStatus before_;
  unsigned long last_seq_ = 0;
  // --incremental: the costs of the last max_chain + 1 dumps (one chain). A chain's full dump
  // costs more than its incremental ones; the interval follows their mean, the
  // cost per checkpoint over a chain, instead of swinging with each kind.
  std::deque<double> chain_costs_;
};

}  // namespace ckptsim::ckpt
