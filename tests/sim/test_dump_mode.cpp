// Forked dumps in the model (`simulate --dump-mode`, run's default): the job
// is stopped only for the fork, the fork writes while the job computes on,
// and a failure before the write is complete restores from the previous
// image; a profile without forked costs models in-process dumps and says so.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "sim_test_support.h"

using namespace ckptsim;
using namespace ckptsim::sim;

namespace {

// flat_profile's job (1000 s of compute, in-process dumps of 50 s, restores
// of 30 s), whose forked dumps stop it `stop` seconds and write for `write`.
models::Profile with_forked(double stop, double write) {
  models::Profile p = simtest::flat_profile(1000, 50, 30, 100);
  p.forked.stop_s = simtest::constant(stop, "bytes", "s");
  p.forked.write_s = simtest::constant(write, "bytes", "s");
  return p;
}

Scenario one_job(const models::Profile& p, Case c) {
  Scenario s;
  s.profile = p;
  s.nodes = 1;
  s.jobs_per_node = 1;
  s.replications = 1;
  s.c = c;
  return s;
}

}  // namespace

TEST_CASE("dump mode: run's default is forked where the profile has the costs, else in-process, said why") {
  Scenario s = one_job(simtest::flat_profile(1000, 50, 30, 100), Case::II);
  set_dump_mode(s, "");
  CHECK(s.dump_mode == DumpMode::InProcess);
  CHECK_THAT(describe_dump_mode(s), Catch::StartsWith("in-process (profile 'flat' has no forked dump costs"));
  CHECK(full_dump_stop_s(s) == 50);
  CHECK(full_dump_write_s(s) == 0);
  CHECK_THROWS_WITH(set_dump_mode(s, "forked"), Catch::Contains("no forked dump costs"));
  CHECK_THROWS_WITH(set_dump_mode(s, "fast"), Catch::Contains("in-process or forked"));

  s.profile = with_forked(2, 40);
  set_dump_mode(s, "");
  CHECK(s.dump_mode == DumpMode::Forked);
  CHECK(describe_dump_mode(s) == "forked (run's default)");
  CHECK(full_dump_stop_s(s) == 2);
  CHECK(full_dump_write_s(s) == 40);
  CHECK(checkpoint_cost_s(s, 0, 100) == 2);
  CHECK(mean_checkpoint_cost_s(s, 100) == 2);
  set_dump_mode(s, "in-process");
  CHECK(full_dump_stop_s(s) == 50);
  CHECK(full_dump_write_s(s) == 0);

  // The room check: a job whose copies would not fit is dumped in-process.
  s.profile.memory.ram_bytes = 150e6;  // the job is 100 MB: 200 MB with its copies
  set_dump_mode(s, "");
  CHECK(s.dump_mode == DumpMode::Forked);
  CHECK(full_dump_stop_s(s) == 50);
  CHECK(full_dump_write_s(s) == 0);

  // Incremental costs measured in-process only: the default follows, forcing forked is refused.
  s.profile = with_forked(2, 40);
  s.profile.incremental.dirty_Bps = simtest::constant(1e6, "order", "bytes/s");
  set_incremental(s, true, std::nullopt);
  set_dump_mode(s, "");
  CHECK(s.dump_mode == DumpMode::InProcess);
  CHECK_THAT(describe_dump_mode(s), Catch::Contains("no forked incremental dump costs"));
  CHECK_THROWS_WITH(set_dump_mode(s, "forked"), Catch::Contains("--incremental") && Catch::Contains("no forked incremental"));
}

TEST_CASE("dump mode: with forked incremental costs, run's default forks incremental dumps too") {
  Scenario s = one_job(with_forked(2, 40), Case::II);
  auto& inc = s.profile.incremental;
  inc.dirty_Bps = simtest::constant(1e6, "order", "bytes/s");  // 1 MB per second of compute
  inc.stop = {5, 1e-7, 0, 1};                                  // in-process: 5 s + 0.1 s/MB written
  inc.forked.stop = {0.5, 0, 0, 1};                            // forked: 0.5 s stop
  inc.forked.write = {1, 2e-7, 0, 1};                          // ... and 1 s + 0.2 s/MB written
  inc.forked.dumps = 3;
  set_incremental(s, true, 2);  // full, incremental, incremental, full...
  set_dump_mode(s, "");
  CHECK(s.dump_mode == DumpMode::Forked);
  CHECK(describe_dump_mode(s) == "forked (run's default)");
  // Checkpoint 0 is the chain's full dump, 1 and 2 incremental (100 MB changed in 100 s), 3 full again.
  CHECK(checkpoint_cost_s(s, 0, 100) == 2);
  CHECK(checkpoint_write_s(s, 0, 100) == 40);
  CHECK(checkpoint_cost_s(s, 1, 100) == Approx(0.5));
  CHECK(checkpoint_write_s(s, 1, 100) == Approx(1 + 2e-7 * 100e6));
  CHECK(checkpoint_cost_s(s, 3, 100) == 2);
  CHECK(mean_checkpoint_cost_s(s, 100) == Approx((2 + 0.5 + 0.5) / 3));

  set_dump_mode(s, "forked");
  CHECK(s.dump_mode == DumpMode::Forked);
  set_dump_mode(s, "in-process");
  CHECK(checkpoint_cost_s(s, 1, 100) == Approx(5 + 1e-7 * 100e6));
  CHECK(checkpoint_write_s(s, 1, 100) == 0);

  // The model runs it: 9 checkpoints of a 1000 s job, failure-free; forked
  // the job pays only the stops, in-process the whole incremental dumps.
  s.interval_s = 100;
  set_dump_mode(s, "");
  const double forked = run_cell(s).mean_turnaround_s;
  set_dump_mode(s, "in-process");
  const double in_process = run_cell(s).mean_turnaround_s;
  CHECK(forked == Approx(1000 + 3 * 2 + 6 * 0.5).margin(1e-4));
  CHECK(in_process == Approx(1000 + 3 * 50 + 6 * (5 + 1e-7 * 100e6)).margin(1e-4));
}

TEST_CASE("dump mode: a forked dump stops the job for the fork only; a fork still writing holds the next dump") {
  Scenario s = one_job(with_forked(2, 40), Case::II);
  s.interval_s = 100;  // checkpoints at 100..900 s of compute: 9 of them
  set_dump_mode(s, "in-process");
  CHECK(run_cell(s).mean_turnaround_s == Approx(1000 + 9 * 50).margin(1e-4));
  set_dump_mode(s, "");
  CHECK(run_cell(s).mean_turnaround_s == Approx(1000 + 9 * 2).margin(1e-4));
  // A write of 150 s against 100 s of compute: each dump after the first
  // waits 50 s for the previous fork (as the library waits for its writer).
  s.profile = with_forked(2, 150);
  set_dump_mode(s, "");
  CHECK(run_cell(s).mean_turnaround_s == Approx(1000 + 9 * 2 + 8 * 50).margin(1e-4));
}

TEST_CASE("dump mode: a failure before the fork's write is complete restores from the previous image") {
  // Case IV, every job killed once, one checkpoint at 500 s of compute.
  auto second_attempts = [](double write) {
    Scenario s = one_job(with_forked(2, write), Case::IV);
    s.replications = 40;
    s.failures.p = 1;
    s.checkpoint_at = 0.5;
    s.record_node_use = true;
    set_dump_mode(s, "");
    const CellResult r = run_cell(s);
    std::vector<std::pair<double, double>> killed_at_and_after;  // (first attempt's end, second's length)
    for (size_t i = 0; i + 1 < r.node_use.size(); ++i)
      if (r.node_use[i].replication == r.node_use[i + 1].replication)
        killed_at_and_after.push_back({r.node_use[i].end_s - r.node_use[i].start_s,
                                       r.node_use[i + 1].end_s - r.node_use[i + 1].start_s});
    CHECK(killed_at_and_after.size() == 40);
    return killed_at_and_after;
  };
  // The write never completes within the job: every restart is from scratch.
  for (const auto& [killed, after] : second_attempts(1e6)) {
    INFO("killed at " << killed);
    CHECK(after == Approx(1000 + 2).margin(1e-6));
  }
  // A write of 1 s: killed after 503 s (500 of compute, the 2 s stop, the 1 s
  // write), the job restores (30 s) and computes the other 500 s; killed
  // before, it starts again.
  int restored = 0;
  for (const auto& [killed, after] : second_attempts(1)) {
    INFO("killed at " << killed);
    CHECK(after == Approx(killed > 503 ? 530.0 : 1002.0).margin(1e-6));
    restored += killed > 503;
  }
  CHECK(restored > 5);
  CHECK(restored < 40);
}

TEST_CASE("dump mode: simulate and sweep state it; a profile without forked costs gives the output as before") {
  const simtest::CmdRun plain = simtest::run_ckptsim("simulate --sizes 2100 --replications 1 --jobs-per-node 2");
  REQUIRE(plain.code == 0);
  CHECK(plain.out.find("dumps in-process (profile 'paper-p4' has no forked dump costs") != std::string::npos);
  const simtest::CmdRun plain_json =
      simtest::run_ckptsim("simulate --sizes 2100 --replications 1 --jobs-per-node 2 --format json");
  REQUIRE(plain_json.code == 0);
  CHECK(plain_json.out.find("dump_mode") == std::string::npos);

  // The bundled profile with forked costs added.
  simtest::TempDir dir;
  nlohmann::json j;
  std::ifstream(simtest::source_dir() / "data/profiles/paper-p4.json") >> j;
  j["forked"] = {{"stop_s", {{"powers", {0, 1}}, {"coef", {0.002, 2e-11}}}},
                 {"write_s", {{"powers", {1}}, {"coef", {1e-8}}}}};
  const auto path = (dir.path() / "forked.json").string();
  std::ofstream(path) << j.dump();
  const std::string args = "--profile " + path + " --sizes 2100 --replications 1 --jobs-per-node 2 --case II ";
  const simtest::CmdRun forked = simtest::run_ckptsim("simulate " + args + "--format json");
  INFO(forked.err);
  REQUIRE(forked.code == 0);
  const auto out = nlohmann::json::parse(forked.out);
  CHECK(out.dump().find("\"dump_mode\":\"forked (run's default)\"") != std::string::npos);
  const simtest::CmdRun forced = simtest::run_ckptsim("simulate " + args + "--dump-mode in-process");
  REQUIRE(forced.code == 0);
  CHECK(forced.out.find("dumps in-process (--dump-mode in-process)") != std::string::npos);
  const simtest::CmdRun sweep = simtest::run_ckptsim("sweep --profile " + path +
                                                     " --sizes 2100 --replications 1 --jobs-per-node 2 --nodes 2 -q");
  INFO(sweep.err);
  REQUIRE(sweep.code == 0);
  CHECK(sweep.out.find("dumps forked (run's default)") != std::string::npos);
  const simtest::CmdRun refused = simtest::run_ckptsim("simulate --dump-mode forked --sizes 2100 --replications 1");
  CHECK(refused.code == 2);
  CHECK(refused.err.find("no forked dump costs") != std::string::npos);
}
