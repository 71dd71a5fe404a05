// The sweep's machinery (grid, plan, workers, shards, merge, interruption),
// driven by a stand-in evaluator so each property is checked on its own, and
// one run against the real simulator and the closed form.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "sim/analytic.h"
#include "sim/sweep.h"
#include "sim_test_support.h"

using namespace ckptsim;
using namespace ckptsim::sim;

namespace {

// Deterministic in its inputs, with a wiggle so the best interval is not trivial.
CellResult fake_cell(const Scenario& s) {
  CellResult r;
  r.order = s.order;
  r.c = s.c;
  r.interval_s = s.interval_s;
  const double W = s.profile.job_compute_s(s.order);
  if (s.c == Case::I) {
    r.mean_turnaround_s = W;
    return r;
  }
  const double C = s.profile.job_dump_s(s.order);
  if (s.interval_s == 0) {  // one checkpoint per job, half the work lost by a kill
    r.mean_turnaround_s = W + C + 0.46 * W / 4;
    r.ci95_s = 0.01 * r.mean_turnaround_s;
    return r;
  }
  r.mean_turnaround_s = W + W / s.interval_s * C + 0.46 * s.interval_s / 2 + std::sin(s.interval_s + s.order) * 1e-3;
  r.ci95_s = 0.01 * r.mean_turnaround_s;
  return r;
}

SweepOptions small_options() {
  SweepOptions o;
  o.base.profile = simtest::flat_profile(1000, 10, 5, 0);
  o.base.profile.compute_s = models::Curve{{1}, {0.5}, "order", "s", 1.0, "test: W = n/2"};
  o.base.c = Case::IV;
  o.base.failures.kind = FailureModel::Kind::PerJob;
  o.base.failures.p = 0.46;
  o.base.replications = 3;
  o.orders = {1000, 2000, 3000};
  o.grid = parse_interval_grid("20:300:20");
  o.profile_label = "flat";
  return o;
}

std::vector<int> all_indices(const SweepPlan& plan) {
  std::vector<int> v;
  for (const auto& p : plan.points) v.push_back(p.index);
  return v;
}

SweepResult run_all(const SweepOptions& o, int workers) {
  const auto plan = make_plan(o);
  RunControl control;
  control.workers = workers;
  auto out = run_points(o, plan, all_indices(plan), control, fake_cell);
  return SweepResult{plan, out.results, out.interrupted};
}

std::string csv(const SweepResult& r) {
  std::ostringstream s;
  write_csv(s, r);
  return s.str();
}

std::string table(const SweepResult& r) {
  std::ostringstream s;
  write_table(s, r);
  return s.str();
}

SweepResult run_shard(const SweepOptions& o, ShardSpec shard) {
  const auto plan = make_plan(o);
  RunControl control;
  control.workers = 2;
  auto out = run_points(o, plan, shard_indices(plan, shard), control, fake_cell);
  return SweepResult{plan, out.results, out.interrupted};
}

}  // namespace

TEST_CASE("sweep: interval grids parse") {
  CHECK(parse_interval_grid("100:300:100").values == std::vector<double>{100, 200, 300});
  CHECK(parse_interval_grid("100:350:100").values == std::vector<double>{100, 200, 300});
  CHECK(parse_interval_grid("0.1:0.3:0.1").values.size() == 3);
  CHECK(parse_interval_grid("100:240").values.size() == 15);
  CHECK(parse_interval_grid("100:240").values.back() == 240);
  CHECK(parse_interval_grid("50:50").values == std::vector<double>{50});
  CHECK(parse_interval_grid("300,100,200,100").values == std::vector<double>{100, 200, 300});
  CHECK(parse_interval_grid("auto").automatic);
  const auto a = auto_intervals(100);
  REQUIRE(a.size() == 15);
  CHECK(a.front() == Approx(25));
  CHECK(a.back() == Approx(400));
  CHECK(a[7] == Approx(100));
}

TEST_CASE("sweep: bad interval grids are one clear error") {
  for (const char* bad : {"300:100", "100:300:0", "100:300:-5", "", ",", "100,,200", "a,b", "abc", "0:100",
                          "100:200:10:1", "-5", "0", "1e999", "100:x", "1:1e9:1e-9"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_interval_grid(bad), SweepError);
  }
  CHECK_THROWS_WITH(parse_interval_grid("300:100"), Catch::Contains("MIN > MAX"));
  CHECK_THROWS_WITH(parse_interval_grid("100:300:0"), Catch::Contains("STEP must be > 0"));
}

TEST_CASE("sweep: shard specs") {
  CHECK(parse_shard("1/1").k == 1);
  CHECK(parse_shard("2/3").n == 3);
  for (const char* bad : {"0/2", "3/2", "1/0", "-1/2", "1", "a/b", "1/2/3", "", "/", "1/"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_shard(bad), SweepError);
  }
}

TEST_CASE("sweep: the plan has a baseline, the grid, Young, Daly and one checkpoint per job for each order, and a hash naming the sweep") {
  const auto o = small_options();
  const auto plan = make_plan(o);
  REQUIRE(plan.theory.size() == 3);
  CHECK(plan.points.size() == 3 * (1 + 15 + 2 + 1));
  CHECK(plan.points[0].kind == PointKind::Baseline);
  CHECK(plan.points[16].kind == PointKind::Young);
  CHECK(plan.points[16].interval_s == Approx(plan.theory[0].young_s));
  CHECK(plan.points[18].kind == PointKind::Single);
  CHECK(scenario_for(o, plan.points[18]).interval_s == 0);
  CHECK(scenario_for(o, plan.points[18]).checkpoint_at == 0.5);
  // Per-job kills: M from the equivalent rate, D = 0, optimum sqrt(2WC/p).
  const auto& t = plan.theory[1];
  CHECK(t.W == 1000);
  CHECK(t.M == Approx(1000 / -std::log(1 - 0.46)));
  CHECK(t.optimum_s == Approx(std::sqrt(2 * 1000 * 10 / 0.46)));
  CHECK(t.formula == "single-kill");

  auto o2 = o;
  o2.profile_label = "the same profile elsewhere";
  CHECK(make_plan(o2).hash == plan.hash);
  o2.base.seed = 2;
  CHECK(make_plan(o2).hash != plan.hash);
  auto o3 = o;
  o3.base.profile.reboot_s = 1;
  CHECK(make_plan(o3).hash != plan.hash);

  // Round trip through JSON is exact.
  const auto back = plan_from_json(nlohmann::json::parse(to_json(plan).dump()));
  CHECK(to_json(back) == to_json(plan));
}

TEST_CASE("sweep: bad options are rejected before anything runs") {
  auto o = small_options();
  o.base.c = Case::III;
  CHECK_THROWS_AS(make_plan(o), SweepError);
  o = small_options();
  o.base.failures.p = 0;
  CHECK_THROWS_AS(make_plan(o), SweepError);
  o.base.failures.p = 1;
  CHECK_THROWS_AS(make_plan(o), SweepError);
  o = small_options();
  o.base.failures.kind = FailureModel::Kind::Node;
  o.base.failures.mtbf_s = -3;
  CHECK_THROWS_AS(make_plan(o), SweepError);
  o = small_options();
  o.orders.clear();
  CHECK_THROWS_AS(make_plan(o), SweepError);
  o = small_options();
  o.base.profile.dump_s = simtest::constant(0, "bytes", "s");
  CHECK_THROWS_AS(make_plan(o), SweepError);
}

TEST_CASE("sweep: 1 or 2 or 5 workers give the same bytes") {
  const auto o = small_options();
  const auto one = run_all(o, 1), two = run_all(o, 2), five = run_all(o, 5);
  CHECK_FALSE(one.partial);
  CHECK(one.results.size() == one.plan.points.size());
  CHECK(csv(one) == csv(two));
  CHECK(csv(one) == csv(five));
  CHECK(table(one) == table(five));
  // The CSV header is the documented one, one row per grid point.
  const auto text = csv(one);
  CHECK(text.rfind("order,interval_s,mean_turnaround_s,ci95_s,overhead_pct\n", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1 + 3 * 15);
}

TEST_CASE("sweep: the summary picks the lowest turnaround per order and the lowest overhead overall") {
  const auto r = run_all(small_options(), 2);
  const auto s = summarise(r);
  REQUIRE(s.orders.size() == 3);
  for (const auto& o : s.orders) {
    REQUIRE(o.found);
    CHECK(o.baseline_s == Approx(o.order / 2.0));
    for (const auto& p : r.plan.points)
      if (p.order == o.order && p.kind == PointKind::Grid)
        CHECK(r.results.at(p.index).mean_turnaround_s >= o.best.mean_turnaround_s);
    CHECK(o.best_overhead_pct == Approx((o.best.mean_turnaround_s - o.baseline_s) / o.baseline_s * 100));
    CHECK(std::isfinite(o.young.mean_turnaround_s));
    CHECK(std::isfinite(o.daly.mean_turnaround_s));
  }
  // Longer jobs amortise the fixed dump better: the largest order wins here.
  CHECK(s.best_order == 3000);
  const auto text = table(r);
  CHECK(text.find("best: order 3000, checkpoint every") != std::string::npos);
}

TEST_CASE("sweep: shards merged give the unsplit result and bad merges are one clear error") {
  const auto o = small_options();
  const auto whole = run_all(o, 2);
  const ShardSpec s1{1, 3}, s2{2, 3}, s3{3, 3};
  const auto j1 = nlohmann::json::parse(shard_to_json(run_shard(o, s1), s1).dump());
  const auto j2 = nlohmann::json::parse(shard_to_json(run_shard(o, s2), s2).dump());
  const auto j3 = nlohmann::json::parse(shard_to_json(run_shard(o, s3), s3).dump());
  const auto merged = merge_shards({{"c", j3}, {"a", j1}, {"b", j2}});
  CHECK(csv(merged) == csv(whole));
  CHECK(table(merged) == table(whole));

  CHECK_THROWS_WITH(merge_shards({{"a", j1}, {"b", j2}}), Catch::Contains("missing shard(s) 3/3"));
  CHECK_THROWS_WITH(merge_shards({{"a", j1}, {"a2", j1}, {"b", j2}, {"c", j3}}), Catch::Contains("given twice"));
  auto other = o;
  other.base.seed = 99;
  const auto jo = nlohmann::json::parse(shard_to_json(run_shard(other, s2), s2).dump());
  CHECK_THROWS_WITH(merge_shards({{"a", j1}, {"other", jo}, {"c", j3}}), Catch::Contains("different sweep"));
  auto partial = j2;
  partial["complete"] = false;
  CHECK_THROWS_WITH(merge_shards({{"a", j1}, {"p", partial}, {"c", j3}}), Catch::Contains("interrupted"));
  CHECK_THROWS_AS(merge_shards({{"x", nlohmann::json{{"hello", 1}}}}), SweepError);
  CHECK_THROWS_AS(merge_shards({}), SweepError);
  const ShardSpec half{1, 2};
  const auto jh = nlohmann::json::parse(shard_to_json(run_shard(o, half), half).dump());
  CHECK_THROWS_WITH(merge_shards({{"a", j1}, {"h", jh}}), Catch::Contains("one of 3 shards"));
}

TEST_CASE("sweep: a stop request keeps the finished points and marks the result partial") {
  const auto o = small_options();
  const auto plan = make_plan(o);
  bool stop = false;
  RunControl control;
  control.workers = 2;
  control.stop = [&stop] { return stop; };
  control.on_progress = [&stop](std::size_t done, std::size_t, double) {
    if (done >= 5) stop = true;
  };
  const auto out = run_points(o, plan, all_indices(plan), control, fake_cell);
  CHECK(out.interrupted);
  CHECK(out.results.size() >= 5);
  CHECK(out.results.size() < plan.points.size());
  const SweepResult r{plan, out.results, true};
  CHECK(table(r).find("PARTIAL") != std::string::npos);
  // What did finish is exactly what the full run gives.
  const auto full = run_all(o, 1);
  for (const auto& [i, pr] : out.results) CHECK(pr.mean_turnaround_s == full.results.at(i).mean_turnaround_s);
}

TEST_CASE("sweep: a point the simulator rejects is a SweepError and a dying worker a SweepWorkerError") {
  const auto o = small_options();
  const auto plan = make_plan(o);
  RunControl control;
  control.workers = 2;
  const Evaluator rejects = [](const Scenario& s) -> CellResult {
    if (s.order == 2000) throw SimError("no such platform");
    return fake_cell(s);
  };
  CHECK_THROWS_WITH(run_points(o, plan, all_indices(plan), control, rejects), Catch::Contains("no such platform"));
  const Evaluator dies = [](const Scenario& s) -> CellResult {
    if (s.order == 3000) std::_Exit(3);
    return fake_cell(s);
  };
  CHECK_THROWS_AS(run_points(o, plan, all_indices(plan), control, dies), SweepWorkerError);
}

TEST_CASE("sweep: a progress bar counts points with plain lines when not a terminal") {
  std::ostringstream tty, log;
  SweepProgress bar(tty, true), plain(log, false);
  for (std::size_t d = 0; d <= 20; ++d) {
    bar.update(d, 20, static_cast<double>(d));
    plain.update(d, 20, static_cast<double>(d));
  }
  bar.finish();
  const std::string drawn = tty.str(), lines = log.str();
  CHECK(drawn.find("20/20 points") != std::string::npos);
  CHECK(drawn.find('\r') != std::string::npos);
  CHECK(lines.find('\r') == std::string::npos);
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 10);
  CHECK(lines.find("10/20 points, 10s elapsed, 10s left") != std::string::npos);
}

// The real simulator: one job on one node, exponential node failures, constant
// costs. Many short segments make the model's edge effects (no checkpoint after
// the last segment, no restore before the first) negligible against E(τ).
TEST_CASE("sweep: with exponential failures the best interval is the formula's optimum") {
  const double W = 20000, C = 20, R = 20, D = 10, M = 1000;
  SweepOptions o;
  o.base.profile = simtest::flat_profile(W, C, R, D);
  o.base.nodes = 1;
  o.base.jobs_per_node = 1;
  o.base.c = Case::IV;
  o.base.failures.kind = FailureModel::Kind::Node;
  o.base.failures.mtbf_s = M;
  o.base.replications = 400;
  o.base.seed = 11;
  o.orders = {1000};
  const double opt = analytic::optimal_interval(C, 1 / M);
  // Neighbours within 10 % and competitors beyond it, on both sides.
  std::vector<double> grid;
  for (double f : {0.5, 0.7, 0.82, 0.95, 1.05, 1.22, 1.4, 2.0}) grid.push_back(f * opt);
  o.grid.values = grid;
  const auto plan = make_plan(o);
  RunControl control;
  control.workers = 2;
  const auto out = run_points(o, plan, all_indices(plan), control);
  const auto s = summarise(SweepResult{plan, out.results, false});
  REQUIRE(s.orders.size() == 1);
  const auto& best = s.orders[0];
  const double e_min = analytic::expected_time({W, C, R, D}, 1 / M, opt);
  INFO("optimum " << opt << " s, best " << best.best.interval_s << " s; turnaround " << best.best.mean_turnaround_s
                  << " +- " << best.best.ci95_s << " vs formula " << e_min);
  CHECK(std::fabs(best.best.interval_s / opt - 1) <= 0.10);
  CHECK(best.best.mean_turnaround_s == Approx(e_min).epsilon(0.01));
  CHECK(plan.theory[0].optimum_expected_s == Approx(e_min));
}
