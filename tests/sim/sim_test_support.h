// Helpers shared by the simulator's tests: small hand-made profiles whose costs
// are constants, so expected values can be written down exactly.
#pragma once
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "models/profile.h"
#include "shell.h"
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

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct CmdRun {
  int code = -1;  // exit status (128 + N: killed by signal N)
  std::string out, err;
};

// Runs `ckptsim ARGS` (a shell line) with stdout and stderr captured.
inline CmdRun run_ckptsim(const std::string& args) {
  TempDir dir;
  const auto out = dir.path() / "stdout", err = dir.path() / "stderr";
  const int status = ckptsim::test::run_sh(ckptsim_bin() + " " + args, out, err);
  return {status, slurp(out), slurp(err)};
}

// Inputs simulate and sweep must both refuse at once (each used to run for
// ever, abort inside SimGrid or silently become another value), with words
// the refusal must contain: it says what would be accepted.
inline const std::vector<std::pair<std::string, std::string>> kRunawayInputs = {
    {"--mtbf 1e-300", "an MTBF of at least"},
    {"--mtbf 1e-300 --interval 300", "an MTBF of at least"},
    {"--interval 1e-300", "intervals of at least"},
    {"--interval 1e-6", "intervals of at least"},
    {"--jobs-per-node 2147483647", "1 to 1000000"},
    {"--jobs-per-node 1000000 --replications 1000", "jobs per cell would be accepted"},
    {"--mtbf 20000 --weibull-shape 0.001", "0.1 to 10"},
    {"--mtbf 20000 --weibull-shape nan", "0.1 to 10"},
    {"--seed -1", "0 to 18446744073709551615"},
    {"--seed 18446744073709551616", "0 to 18446744073709551615"},
    {"--seed 1e23", "0 to 18446744073709551615"},
};

// Runs every input through run(args), which returns {code, out, err}: exit 2,
// nothing on stdout, one line on stderr containing the expected words, and
// well within 5 s (a generous bound: the point is that nothing hangs).
template <typename RunFn>
void check_refused_at_once(const std::vector<std::pair<std::string, std::string>>& inputs, RunFn run) {
  for (const auto& [args, says] : inputs) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run(args);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(args << " -> exit " << r.code << ", stderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(says) != std::string::npos);
    CHECK(took < 5);
  }
}

}  // namespace simtest
