// The scheduler's requeue delay (issue 20, item 3): after a failure kills a
// job in cases III, IIIp, IV or V its next attempt starts that much later.
// With per-job kills the delay only shifts what follows each kill, so a job's
// turnaround grows by exactly k·D for its k kills; case I and II never wait;
// 0 changes nothing. Through the binary: the option, the profile's field, the
// override, the story and the refusals (one line, exit 2).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include "sim/sweep.h"
#include "sim_test_support.h"

using namespace ckptsim;
using namespace ckptsim::sim;

namespace {

Scenario small(Case c, double p) {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 40, 25, 100);
  s.nodes = 4;
  s.jobs_per_node = 3;
  s.replications = 3;
  s.failures.p = p;
  s.seed = 11;
  s.c = c;
  return s;
}

// Mean turnaround grows by D for every kill, spread over every job of every replication.
double expected_growth(const Scenario& s, const CellResult& r, double d) {
  return d * static_cast<double>(r.kills) / (static_cast<double>(s.nodes) * s.jobs_per_node * s.replications);
}

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

}  // namespace

TEST_CASE("requeue delay: the scenario's option overrides the profile's, which defaults to none") {
  Scenario s = small(Case::III, 1);
  CHECK(requeue_delay_s(s) == 0);
  CHECK(describe_requeue_delay(s).empty());
  s.profile.scheduler.requeue_delay_s = 30;
  CHECK(requeue_delay_s(s) == 30);
  CHECK(describe_requeue_delay(s) == "requeue delay 30 s (profile)");
  set_requeue_delay(s, std::nullopt);  // not given: the profile's stays
  CHECK(requeue_delay_s(s) == 30);
  set_requeue_delay(s, 0.0);
  CHECK(requeue_delay_s(s) == 0);
  set_requeue_delay(s, 12.5);
  CHECK(requeue_delay_s(s) == 12.5);
  CHECK(describe_requeue_delay(s) == "requeue delay 12.5 s (--requeue-delay)");
  for (double bad : {-1.0, std::nan(""), HUGE_VAL, -HUGE_VAL}) {
    Scenario t = small(Case::III, 1);
    CHECK_THROWS_AS(set_requeue_delay(t, bad), SimError);
    t.requeue_delay_s = bad;  // set behind set_requeue_delay's back: validate refuses it
    CHECK_THROWS_AS(validate(t), SimError);
  }
}

TEST_CASE("requeue delay: every job killed once (III, IIIp, IV) takes exactly D longer") {
  const double d = 37.25;
  for (Case c : {Case::III, Case::IIIp, Case::IV}) {
    INFO("case " << to_string(c));
    Scenario s = small(c, 1);
    const CellResult without = run_cell(s);
    s.requeue_delay_s = d;
    const CellResult with = run_cell(s);
    REQUIRE(without.kills == 4 * 3 * 3);
    CHECK(with.kills == without.kills);
    CHECK(with.mean_turnaround_s == Approx(without.mean_turnaround_s + d).margin(1e-6));
    for (size_t r = 0; r < with.replication_means.size(); ++r)
      CHECK(with.replication_means[r] == Approx(without.replication_means[r] + d).margin(1e-6));
  }
}

TEST_CASE("requeue delay: the mean turnaround grows by D times the kills the simulation reports") {
  const double d = 120;
  for (Case c : {Case::III, Case::IIIp, Case::IV}) {
    INFO("case " << to_string(c));
    Scenario s = small(c, 0.46);
    s.jobs_per_node = 6;
    s.replications = 5;
    const CellResult without = run_cell(s);
    s.requeue_delay_s = d;
    const CellResult with = run_cell(s);
    REQUIRE(without.kills > 0);
    REQUIRE(without.kills < 4 * 6 * 5);  // some jobs are not killed: they do not wait
    CHECK(with.kills == without.kills);
    CHECK(with.mean_turnaround_s - without.mean_turnaround_s ==
          Approx(expected_growth(s, with, d)).margin(1e-6));
  }
}

TEST_CASE("requeue delay: the profile's delay is the option's, and the option overrides it") {
  Scenario s = small(Case::IV, 1);
  s.requeue_delay_s = 20;
  const CellResult by_option = run_cell(s);
  Scenario t = small(Case::IV, 1);
  t.profile.scheduler.requeue_delay_s = 20;
  const CellResult by_profile = run_cell(t);
  CHECK(by_profile.replication_means == by_option.replication_means);
  t.requeue_delay_s = 0;  // --requeue-delay 0 on a profile with one
  CHECK(run_cell(t).replication_means == run_cell(small(Case::IV, 1)).replication_means);
}

TEST_CASE("requeue delay: cases without failures (I, II) and a delay of 0 are unchanged") {
  for (Case c : {Case::I, Case::II}) {
    INFO("case " << to_string(c));
    Scenario s = small(c, 1);
    const CellResult without = run_cell(s);
    s.requeue_delay_s = 500;
    const CellResult with = run_cell(s);
    CHECK(with.replication_means == without.replication_means);
    CHECK(with.replication_makespans == without.replication_makespans);
    CHECK(with.kills == 0);
  }
  for (Case c : {Case::III, Case::IIIp, Case::IV, Case::V}) {
    INFO("case " << to_string(c));
    Scenario s = small(c, 0.46);
    s.failures.kind = FailureModel::Kind::Node;  // node failures too
    s.failures.mtbf_s = 3000;
    const CellResult without = run_cell(s);
    s.requeue_delay_s = 0;
    const CellResult with = run_cell(s);
    CHECK(with.replication_means == without.replication_means);
    CHECK(with.replication_makespans == without.replication_makespans);
    CHECK(with.kills == without.kills);
  }
}

TEST_CASE("requeue delay: case V waits before its image moves") {
  // One node: nowhere to move, so the job is restored in place, exactly as IV.
  Scenario alone = small(Case::V, 1);
  alone.nodes = 1;
  const CellResult in_place = run_cell(alone);
  alone.requeue_delay_s = 15;
  CHECK(run_cell(alone).mean_turnaround_s == Approx(in_place.mean_turnaround_s + 15).margin(1e-6));

  // Spares enough for every job: each killed job waits D, then its image goes
  // to a free spare (or, killed before its checkpoint, it starts again on its
  // node). Only the copies' overlap on the network can change.
  Scenario s = small(Case::V, 1);
  s.v_placement = VPlacement::Spare;
  s.spares = s.nodes * s.jobs_per_node;
  const CellResult without = run_cell(s);
  s.requeue_delay_s = 15;
  const CellResult with = run_cell(s);
  REQUIRE(without.migrations > 0);
  CHECK(with.migrations == without.migrations);
  CHECK(with.kills == without.kills);
  CHECK(with.mean_turnaround_s - without.mean_turnaround_s == Approx(expected_growth(s, with, 15)).margin(0.05));
  CHECK(with.migration_waits == 0);  // the delay is not counted as a wait for a node

  // Node failures, the default (queue) placement: every case with failures pays more.
  for (Case c : {Case::III, Case::IIIp, Case::IV, Case::V}) {
    INFO("case " << to_string(c));
    Scenario n = small(c, 0);
    n.failures.kind = FailureModel::Kind::Node;
    n.failures.mtbf_s = 2500;
    const CellResult base = run_cell(n);
    n.requeue_delay_s = 60;
    const CellResult delayed = run_cell(n);
    REQUIRE(base.kills > 0);
    CHECK(delayed.mean_turnaround_s > base.mean_turnaround_s);
  }
}

TEST_CASE("requeue delay: the sweep's theory counts it as downtime and its plan shows it") {
  SweepOptions o;
  o.base = small(Case::IV, 0.46);
  o.orders = {1000};
  o.grid = parse_interval_grid("100,200");
  const SweepPlan plain = make_plan(o);
  CHECK_FALSE(plain.options.contains("requeue_delay_s"));

  SweepOptions zero = o;
  zero.base.requeue_delay_s = 0;  // --requeue-delay 0: the same sweep
  CHECK(make_plan(zero).hash == plain.hash);

  SweepOptions delayed = o;
  delayed.base.requeue_delay_s = 45;
  const SweepPlan p = make_plan(delayed);
  CHECK(p.hash != plain.hash);
  CHECK(p.options.at("requeue_delay_s") == 45);
  CHECK(p.theory.at(0).D == Approx(plain.theory.at(0).D + 45));
  CHECK(p.theory.at(0).optimum_s == plain.theory.at(0).optimum_s);  // the interval does not depend on D

  // The same delay from the profile: shown, and the profile's hash tells the sweeps apart.
  SweepOptions from_profile = o;
  from_profile.base.profile.scheduler.requeue_delay_s = 45;
  const SweepPlan q = make_plan(from_profile);
  CHECK(q.options.at("requeue_delay_s") == 45);
  CHECK(q.hash != plain.hash);
  CHECK(q.theory.at(0).D == Approx(p.theory.at(0).D));
  // --requeue-delay 45 on that profile: the same sweep as the profile alone.
  from_profile.base.requeue_delay_s = 45;
  CHECK(make_plan(from_profile).hash == q.hash);
}

TEST_CASE("simulate and sweep: --requeue-delay 0 changes nothing; a delay shows in the title, JSON and story") {
  simtest::TempDir dir;
  const auto flat = dir.path() / "flat.json";
  models::save_profile(simtest::flat_profile(1000, 40, 25, 100), flat);
  const std::string base = "simulate --profile " + flat.string() +
                           " --sizes 1000 --nodes 2 --jobs-per-node 2 --replications 3 --failure-rate 0.6 ";
  for (const std::string fmt : {"table", "csv", "json"}) {
    const auto a = simtest::run_ckptsim(base + "--format " + fmt);
    const auto b = simtest::run_ckptsim(base + "--format " + fmt + " --requeue-delay 0");
    REQUIRE(a.code == 0);
    CHECK(b.code == 0);
    CHECK(a.out == b.out);
  }
  const auto table = simtest::run_ckptsim(base + "--requeue-delay 25");
  REQUIRE(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("requeue delay 25 s (--requeue-delay)"));
  const auto json = simtest::run_ckptsim(base + "--requeue-delay 25 --format json");
  REQUIRE(json.code == 0);
  CHECK(nlohmann::json::parse(json.out).at("parameters").at("requeue_delay_s") == 25);

  // The profile's delay is used, and the option overrides it.
  auto prof = simtest::flat_profile(1000, 40, 25, 100);
  prof.scheduler.requeue_delay_s = 25;
  const auto delayed = dir.path() / "delayed.json";
  models::save_profile(prof, delayed);
  const std::string on_delayed = "simulate --profile " + delayed.string() +
                                 " --sizes 1000 --nodes 2 --jobs-per-node 2 --replications 3 --failure-rate 0.6 ";
  const auto csv_option = simtest::run_ckptsim(base + "--requeue-delay 25 --format csv");
  const auto csv_profile = simtest::run_ckptsim(on_delayed + "--format csv");
  const auto csv_override = simtest::run_ckptsim(on_delayed + "--format csv --requeue-delay 0");
  const auto csv_plain = simtest::run_ckptsim(base + "--format csv");
  REQUIRE(csv_profile.code == 0);
  CHECK(csv_profile.out == csv_option.out);
  CHECK(csv_override.out == csv_plain.out);
  CHECK(csv_profile.out != csv_plain.out);
  CHECK_THAT(simtest::run_ckptsim(on_delayed).out, Catch::Contains("requeue delay 25 s (profile)"));

  // The story, in simulated time.
  const auto story = simtest::run_ckptsim("simulate --profile " + flat.string() +
                                          " --sizes 1000 --nodes 2 --jobs-per-node 2 --replications 1 --case III "
                                          "--failure-rate 1 --requeue-delay 25 --log");
  REQUIRE(story.code == 0);
  CHECK_THAT(story.err, Catch::Contains("[ckptsim/INFO] job 0 requeued: waits 25.0 s for the scheduler"));

  // The sweep: its header says so, and 0 is the sweep without it.
  const std::string sw = "sweep --profile " + flat.string() +
                         " --sizes 1000 --interval 100,300 --nodes 2 --jobs-per-node 2 --replications 2 -q ";
  const auto s0 = simtest::run_ckptsim(sw);
  const auto s0b = simtest::run_ckptsim(sw + "--requeue-delay 0");
  const auto s25 = simtest::run_ckptsim(sw + "--requeue-delay 25");
  REQUIRE(s0.code == 0);
  CHECK(s0b.out == s0.out);
  REQUIRE(s25.code == 0);
  CHECK_THAT(s25.out, Catch::Contains("requeue delay 25 s, "));
  CHECK_THAT(s0.out, !Catch::Contains("requeue delay"));
  // sweep --slurm gives it to every shard (printed only: nothing is submitted).
  const auto printed = simtest::run_ckptsim(sw + "--requeue-delay 25 --slurm --print-sbatch --tasks 2");
  if (printed.code == 0)
    CHECK_THAT(printed.out, Catch::Contains("'--requeue-delay' '25'"));
  else
    WARN("sweep --slurm --print-sbatch not available here: " << printed.err);
}

TEST_CASE("simulate and sweep: a bad requeue delay, given or in the profile, is one line and exit 2") {
  simtest::TempDir dir;
  const auto flat = dir.path() / "flat.json";
  models::save_profile(simtest::flat_profile(1000, 40, 25, 100), flat);
  nlohmann::json j = models::to_json(simtest::flat_profile(1000, 40, 25, 100));
  j["scheduler"] = {{"requeue_delay_s", -5}};
  std::ofstream(dir.path() / "negative.json") << j.dump();
  j["scheduler"] = {{"requeue_delay_s", "soon"}};
  std::ofstream(dir.path() / "string.json") << j.dump();
  std::string text = models::to_json(simtest::flat_profile(1000, 40, 25, 100)).dump();
  text.insert(text.rfind('}'), R"(,"scheduler":{"requeue_delay_s":1e999})");
  std::ofstream(dir.path() / "huge.json") << text;

  const std::string small_sim = " --sizes 1000 --nodes 2 --jobs-per-node 2 --replications 2";
  const std::string small_sweep = " --sizes 1000 --interval 100,300 --nodes 2 --jobs-per-node 2 --replications 2 -q";
  for (const std::string cmd : {"simulate", "sweep"}) {
    const std::string small_args = cmd == "simulate" ? small_sim : small_sweep;
    for (const std::string& args :
         {"--profile " + flat.string() + " --requeue-delay -1", "--profile " + flat.string() + " --requeue-delay nan",
          "--profile " + flat.string() + " --requeue-delay inf", "--profile " + flat.string() + " --requeue-delay 1e999",
          "--profile " + flat.string() + " --requeue-delay soon", "--profile " + flat.string() + " --requeue-delay ''",
          "--profile " + (dir.path() / "negative.json").string(), "--profile " + (dir.path() / "string.json").string(),
          "--profile " + (dir.path() / "huge.json").string()}) {
      const auto r = simtest::run_ckptsim(cmd + " " + args + small_args);
      INFO(cmd << " " << args << " -> exit " << r.code << ", stderr: " << r.err);
      CHECK(r.code == 2);
      CHECK(r.out.empty());
      CHECK(one_line(r.err));
    }
  }
}
