// Case V placements in real SimGrid runs: one job at a time per node under
// queue and spare (and not under share), V = IV + the copy with enough spares,
// and the placement options' bad input through the real binary.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sim/sweep.h"
#include "sim_test_support.h"

using namespace ckptsim;
using namespace ckptsim::sim;

namespace {

// The largest number of job attempts found on one node at the same moment, over
// all replications and nodes. Attempts that touch (one ends as the next starts)
// do not overlap.
int most_at_once(const std::vector<NodeUse>& uses) {
  std::map<std::pair<int, int>, std::vector<std::pair<double, int>>> edges;  // (rep, node) -> (time, +1/-1)
  for (const NodeUse& u : uses) {
    edges[{u.replication, u.node}].push_back({u.start_s, +1});
    edges[{u.replication, u.node}].push_back({u.end_s, -1});
  }
  int most = 0;
  for (auto& [where, e] : edges) {
    std::sort(e.begin(), e.end());  // at equal times the end (-1) comes first
    int now = 0;
    for (const auto& [t, d] : e) most = std::max(most, now += d);
  }
  return most;
}

// Many failures on few nodes: migrated jobs keep meeting busy nodes.
Scenario crowded(VPlacement placement, int spares, uint64_t seed) {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  s.nodes = 3;
  s.jobs_per_node = 6;
  s.replications = 4;
  s.c = Case::V;
  s.failures.p = 0.9;
  s.seed = seed;
  s.v_placement = placement;
  s.spares = spares;
  s.record_node_use = true;
  return s;
}

}  // namespace

TEST_CASE("V placements: queue and spare never run two jobs on one node at once, share does") {
  std::map<std::string, long> waits;  // per placement, over the seeds
  for (uint64_t seed : {1, 2, 3, 4}) {
    INFO("seed " << seed);
    const CellResult share = run_cell(crowded(VPlacement::Share, 0, seed));
    CHECK(share.migrations > 0);
    CHECK(most_at_once(share.node_use) >= 2);  // the check can see an overlap

    for (auto [placement, spares] : {std::pair{VPlacement::Queue, 0}, std::pair{VPlacement::Spare, 1},
                                     std::pair{VPlacement::Spare, 2}}) {
      INFO(to_string(placement) << " with " << spares << " spares");
      const CellResult r = run_cell(crowded(placement, spares, seed));
      REQUIRE(r.migrations > 0);
      waits[std::string(to_string(placement)) + std::to_string(spares)] += r.migration_waits;
      CHECK(most_at_once(r.node_use) == 1);
      // Every job ran somewhere; under spare, migrated jobs ran on the spares.
      std::map<std::pair<int, int>, int> attempts;
      int on_spares = 0;
      for (const NodeUse& u : r.node_use) {
        ++attempts[{u.replication, u.job}];
        CHECK(u.end_s >= u.start_s);
        CHECK(u.node < 3 + spares);
        on_spares += u.node >= 3;
      }
      CHECK(attempts.size() == 3u * 6 * 4);
      CHECK(on_spares == (placement == VPlacement::Spare ? r.migrations : 0));
    }
  }
  // Nodes really were busy when migrated jobs came: the invariant was put to the test.
  for (const auto& [placement, n] : waits) {
    INFO(placement);
    CHECK(n > 0);
  }
}

TEST_CASE("V placements: one job per node also holds with node failures (spares fail too)") {
  for (auto [placement, spares] : {std::pair{VPlacement::Queue, 0}, std::pair{VPlacement::Spare, 2}}) {
    INFO(to_string(placement));
    Scenario s = crowded(placement, spares, 9);
    s.failures.kind = FailureModel::Kind::Node;
    s.failures.mtbf_s = 1500;
    s.interval_s = 200;
    const CellResult r = run_cell(s);
    REQUIRE(r.migrations > 0);
    CHECK(most_at_once(r.node_use) == 1);
  }
}

TEST_CASE("V with enough spares is IV plus the copy of each migrated job") {
  // Nothing waits for a spare, so a migrated job's turnaround is IV's plus its
  // copy: mean(V) = mean(IV) + copy x migrations / jobs (the copy alone on the
  // network: the profile's set-up cost, and a link so fast the bytes are free).
  auto profile = simtest::flat_profile(1000, 50, 30, 100);
  const double copy = 200;
  profile.copy_s = simtest::constant(copy, "bytes", "s");
  profile.link_bandwidth_Bps = 1e13;
  profile.link_latency_s = 0;
  Scenario s;
  s.profile = profile;
  s.nodes = 4;
  s.jobs_per_node = 5;
  s.replications = 60;
  s.failures.p = 0.46;
  s.seed = 21;
  s.c = Case::IV;
  const CellResult iv = run_cell(s);
  s.c = Case::V;
  s.v_placement = VPlacement::Spare;
  s.spares = 4 * 5;
  const CellResult v = run_cell(s);
  REQUIRE(v.migration_waits == 0);
  REQUIRE(v.migrations > 20);
  const double jobs = 4.0 * 5 * 60;
  const double expected = iv.mean_turnaround_s + copy * v.migrations / jobs;
  INFO("V " << v.mean_turnaround_s << " +- " << v.ci95_s << ", IV " << iv.mean_turnaround_s << " + copy "
            << copy * v.migrations / jobs << " = " << expected);
  CHECK(std::abs(v.mean_turnaround_s - expected) < v.ci95_s);
  CHECK(v.mean_turnaround_s == Approx(expected).margin(0.01));  // far inside the CI: nothing else differs
  // Same jobs killed, and the migrated ones are those IV restored in place.
  CHECK(v.kills == iv.kills);
}

TEST_CASE("V with enough spares on the paper's profile: IV plus its Gigabit copy") {
  Scenario s;
  s.profile = models::load_profile(simtest::source_dir() / "data/profiles/paper-p4.json");
  s.order = 2100;
  s.replications = 10;
  s.c = Case::IV;
  const CellResult iv = run_cell(s);
  s.c = Case::V;
  s.v_placement = VPlacement::Spare;
  s.spares = 16;
  const CellResult v = run_cell(s);
  REQUIRE(v.migration_waits == 0);
  const double copy = s.profile.job_copy_s(s.order);
  const double expected = iv.mean_turnaround_s + copy * v.migrations / (8.0 * 15 * 10);
  INFO("V " << v.mean_turnaround_s << " +- " << v.ci95_s << ", IV + copy " << expected << ", copy " << copy);
  CHECK(std::abs(v.mean_turnaround_s - expected) < v.ci95_s);
}

TEST_CASE("V placements: cases I to IV do not depend on the placement") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  s.nodes = 3;
  s.jobs_per_node = 4;
  s.replications = 3;
  for (Case c : {Case::I, Case::III, Case::IV}) {
    s.c = c;
    s.v_placement = VPlacement::Share;
    s.spares = 0;
    const CellResult share = run_cell(s);
    s.v_placement = VPlacement::Spare;
    s.spares = 2;
    CHECK(run_cell(s).replication_means == share.replication_means);
  }
}

TEST_CASE("V placements: names, and the rules tying --spares to them") {
  for (VPlacement p : {VPlacement::Share, VPlacement::Queue, VPlacement::Spare})
    CHECK(parse_v_placement(to_string(p)) == p);
  CHECK_THROWS_AS(parse_v_placement("spares"), std::invalid_argument);
  Scenario s;
  set_v_placement(s, "spare", std::nullopt);
  CHECK(s.spares == kDefaultSpares);
  CHECK(describe_v_placement(s) == "spare (1 spare node)");
  set_v_placement(s, "", std::nullopt);
  CHECK(s.v_placement == kDefaultVPlacement);
  CHECK(s.spares == 0);
  CHECK_THROWS_AS(set_v_placement(s, "queue", 1), SimError);
  CHECK_THROWS_AS(set_v_placement(s, "spare", 0), SimError);
  CHECK_THROWS_AS(set_v_placement(s, "spare", -1), SimError);
  CHECK_THROWS_AS(set_v_placement(s, "nope", std::nullopt), SimError);
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  s.v_placement = VPlacement::Spare;
  s.spares = 0;
  CHECK_THROWS_AS(validate(s), SimError);
  s.v_placement = VPlacement::Queue;
  s.spares = 1;
  CHECK_THROWS_AS(validate(s), SimError);
}

namespace {

using Run = simtest::CmdRun;
using simtest::run_ckptsim;

}  // namespace

TEST_CASE("V placements: bad --v-placement and --spares are one line and exit 2, in simulate and sweep") {
  simtest::TempDir dir;
  const auto profile = dir.path() / "flat.json";
  models::save_profile(simtest::flat_profile(1000, 10, 5, 30), profile);
  std::ofstream(dir.path() / "nospare.xml")
      << "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\"><host id=\"head\" speed=\"1Gf\"/>"
         "<host id=\"node-1\" speed=\"1Gf\"><disk id=\"d\" read_bw=\"1MBps\" write_bw=\"1MBps\"/></host>"
         "</zone></platform>\n";
  const std::string simulate = "simulate --profile " + profile.string() + " --sizes 1000 --nodes 1 --replications 2 ";
  const std::string sweep =
      "sweep -q --profile " + profile.string() + " --sizes 1000 --interval 100,200 --nodes 1 --replications 2 ";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {simulate + "--v-placement beside", "--v-placement"},
      {simulate + "--v-placement ''", "--v-placement"},
      {simulate + "--spares 2", "--spares"},
      {simulate + "--v-placement queue --spares 1", "--spares needs --v-placement spare"},
      {simulate + "--v-placement share --spares 0", "--spares needs --v-placement spare"},
      {simulate + "--v-placement spare --spares 0", "at least 1 spare"},
      {simulate + "--v-placement spare --spares -1", "--spares"},
      {simulate + "--v-placement spare --spares x", "--spares"},
      {simulate + "--v-placement spare --spares 2 --platform " + (dir.path() / "nospare.xml").string(),
       "spare host"},
      {sweep + "--case V --v-placement beside", "--v-placement"},
      {sweep + "--case V --spares 1", "--spares"},
      {sweep + "--case V --v-placement queue --spares 1", "--spares needs --v-placement spare"},
      {sweep + "--case V --v-placement spare --spares 0", "at least 1 spare"},
      {sweep + "--case V --v-placement spare --spares -3", "--spares"},
      {sweep + "--case IV --v-placement spare", "--v-placement needs --case V"},
  };
  for (const auto& [args, says] : bad) {
    const Run r = run_ckptsim(args);
    INFO(args << " -> exit " << r.code << ", stderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(says) != std::string::npos);
  }
  // And the good ones run, naming the placement.
  const Run ok = run_ckptsim(simulate + "--case V --v-placement spare --spares 2");
  CHECK(ok.code == 0);
  CHECK(ok.out.find("case V spare (2 spare nodes)") != std::string::npos);
}

TEST_CASE("V placements in the sweep: the plan names and hashes case V's placement, case IV's is untouched") {
  SweepOptions o;
  o.base.profile = simtest::flat_profile(1000, 10, 5, 30);
  o.base.nodes = 2;
  o.base.jobs_per_node = 2;
  o.base.replications = 2;
  o.orders = {1000};
  o.grid = parse_interval_grid("100,200");
  o.base.c = Case::IV;
  const SweepPlan iv = make_plan(o);
  CHECK_FALSE(iv.options.contains("v_placement"));
  o.base.v_placement = VPlacement::Spare;
  o.base.spares = 1;
  CHECK(make_plan(o).hash == iv.hash);  // IV runs nothing on spares

  o.base.c = Case::V;
  std::set<std::string> hashes;
  for (auto [placement, spares] : {std::pair{VPlacement::Share, 0}, std::pair{VPlacement::Queue, 0},
                                   std::pair{VPlacement::Spare, 1}, std::pair{VPlacement::Spare, 2}}) {
    o.base.v_placement = placement;
    o.base.spares = spares;
    const SweepPlan plan = make_plan(o);
    CHECK(plan.options.at("v_placement") == to_string(placement));
    CHECK(plan.options.at("spares") == spares);
    hashes.insert(plan.hash);
    // Every point runs with the placement.
    for (const auto& p : plan.points)
      if (p.kind != PointKind::Baseline) CHECK(scenario_for(o, p).v_placement == placement);
  }
  CHECK(hashes.size() == 4);
}
