// Incremental checkpoints in the model (`simulate --incremental`): a chain's
// first dump is full, the next max_chain write what changed, exactly as
// the profile's incremental costs say; and the options' bad input.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "sim/sweep.h"
#include "sim_test_support.h"

using namespace ckptsim;
using namespace ckptsim::sim;

namespace {

// Incremental dumps cost `fixed` plus 1 s per 100 MB written; the job changes
// 0.5 MB per second of compute.
models::Profile with_incremental(double fixed) {
  models::Profile p = simtest::flat_profile(1000, 50, 30, 100);
  p.incremental.dirty_Bps = simtest::constant(0.5e6, "order", "bytes/s");
  p.incremental.stop.fixed_s = fixed;
  p.incremental.stop.s_per_written_byte = 1e-8;
  p.incremental.max_chain = 3;
  return p;
}

using Cmd = simtest::CmdRun;
using simtest::run_ckptsim;

}  // namespace

TEST_CASE("incremental: a chain is one full dump and max_chain that write what changed") {
  Scenario s;
  s.profile = with_incremental(2);
  s.nodes = 1;
  s.jobs_per_node = 1;
  s.replications = 1;
  s.c = Case::II;
  s.interval_s = 100;  // checkpoints at 100..900 s of compute: 9 of them
  const double full = run_cell(s).mean_turnaround_s;
  CHECK(full == Approx(1000 + 9 * 50).margin(1e-4));
  set_incremental(s, true, std::nullopt);
  CHECK(s.max_chain == 3);  // the profile's
  // Dumps 0, 4 and 8 full (as the library counts: 3 incremental ones on each
  // full one); the six others write 100 s x 0.5 MB/s = 50 MB: 2 + 0.5 s.
  CHECK(checkpoint_cost_s(s, 1, 100) == Approx(2.5));
  CHECK(checkpoint_cost_s(s, 3, 100) == Approx(2.5));
  CHECK(checkpoint_cost_s(s, 4, 100) == Approx(50));
  CHECK(run_cell(s).mean_turnaround_s == Approx(1000 + 3 * 50 + 6 * 2.5).margin(1e-4));
  set_incremental(s, true, 1);  // full and incremental in turn: dumps 0, 2, 4, 6, 8 full
  CHECK(run_cell(s).mean_turnaround_s == Approx(1000 + 5 * 50 + 4 * 2.5).margin(1e-4));
  // What changed never exceeds the image (flat_profile: 100 MB).
  s.max_chain = 9;
  CHECK(checkpoint_cost_s(s, 1, 1e6) == Approx(2 + 1e-8 * 100e6));
  // The formulas see the chain's mean cost at the interval.
  CHECK(mean_checkpoint_cost_s(s, 100) == Approx((50 + 9 * 2.5) / 10));
}

TEST_CASE("incremental: refused without the profile's costs, and --max-chain needs --incremental") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  CHECK_THROWS_WITH(set_incremental(s, true, std::nullopt), Catch::Contains("no incremental dump costs"));
  s.profile = with_incremental(2);
  CHECK_THROWS_WITH(set_incremental(s, false, 4), Catch::Contains("--max-chain needs --incremental"));
  CHECK_THROWS_WITH(set_incremental(s, true, 0), Catch::Contains("at least 1"));
  // Through the binary: the paper profile has no incremental costs.
  for (const std::string& cmd : {std::string("simulate --incremental --sizes 4100 --replications 1"),
                                 std::string("sweep --incremental --sizes 4100 --replications 1 -q")}) {
    const Cmd r = run_ckptsim(cmd);
    INFO(cmd << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find("no incremental dump costs") != std::string::npos);
  }
  const Cmd r = run_ckptsim("simulate --max-chain 4 --sizes 4100 --replications 1");
  CHECK(r.code != 0);
  CHECK(r.err.find("--incremental") != std::string::npos);
}
