// Helpers shared by the simulator's tests: small hand-made profiles whose costs
// are constants, so expected values can be written down exactly.
#pragma once
#include <filesystem>
#include <string>

#include "models/profile.h"
#include "sim/simulate.h"
#include "temp_dir.h"

namespace simtest {

inline ckptsim::models::Curve constant(double v, const char* x_unit, const char* y_unit) {
  return ckptsim::models::Curve{{0}, {v}, x_unit, y_unit, 1.0, "test constant"};
}

// A job of `work` seconds whose image costs `dump` to write and `restore` to read back.
inline ckptsim::models::Profile flat_profile(double work, double dump, double restore, double reboot) {
  ckptsim::models::Profile p;
  p.name = "flat";
  p.source = "test";
  p.compute_s = constant(work, "order", "s");
  p.process_bytes = constant(100e6, "order", "bytes");
  p.image_bytes = ckptsim::models::Curve{{1}, {1.0}, "bytes", "bytes", 1.0, ""};
  p.dump_s = constant(dump, "bytes", "s");
  p.copy_s = constant(0.5, "bytes", "s");
  p.restore_s = constant(restore, "bytes", "s");
  p.disk_write_Bps = 20e6;
  p.disk_read_Bps = 40e6;
  p.reboot_s = reboot;
  return p;
}

inline std::filesystem::path source_dir() { return CKPTSIM_SOURCE_DIR; }
inline std::string ckptsim_bin() { return std::string(CKPTSIM_BUILD_DIR) + "/ckptsim"; }

using ckptsim::test::TempDir;

}  // namespace simtest
