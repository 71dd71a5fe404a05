#pragma once
// Case V's copy of a checkpoint image to another slot: over the shaped gigabit
// veth that calibration uses (a `ckptsim receive` per slot inside the network
// namespace, calib's send_image checking every byte end to end), or, only when
// asked for (--copy local), a plain file copy. Each copy runs in a forked
// child so that the other slots' kills and checkpoints keep their times.
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slots.h"

namespace ckptsim::experiment {

class CopyChannel {
 public:
  // kind "netns" or "local". Throws ExperimentError (one line) when the
  // namespace cannot be made or its receivers do not start.
  CopyChannel(const std::string& kind, const std::filesystem::path& ckptsim_exe, const std::vector<Slot>& slots,
              const std::filesystem::path& work_dir);
  ~CopyChannel();
  CopyChannel(const CopyChannel&) = delete;
  CopyChannel& operator=(const CopyChannel&) = delete;

  // Starts copying image_dir to slot `to` under `name`; returns the copying
  // child's pid (exit 0: the copy is complete at destination(to, name)).
  pid_t start(const std::filesystem::path& image_dir, int to, const std::string& name) const;
  std::filesystem::path destination(int to, const std::string& name) const;
  double nominal_Bps() const { return nominal_Bps_; }
  nlohmann::json describe() const { return description_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string kind_;
  std::vector<Slot> slots_;
  double nominal_Bps_ = 0;
  nlohmann::json description_;
};

}  // namespace ckptsim::experiment
