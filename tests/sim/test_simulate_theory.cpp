// The model against closed forms: the periodic-checkpoint formula for
// exponential node failures, and the paper's own uniform-kill semantics.
#include <catch2/catch.hpp>

#include <cmath>

#include "sim_test_support.h"

using namespace ckptsim;
using namespace ckptsim::sim;

namespace {

// Expected time to get through one segment of T seconds (work + dump) when a
// failure costs the downtime D and then the restore R before trying again
// (failures strike anywhere but during downtime).
double segment(double T, double R, double D, double lambda) {
  return std::exp(lambda * R) * (1 / lambda + D) * (std::exp(lambda * T) - 1);
}

}  // namespace

TEST_CASE("periodic checkpoints under exponential node failures match the closed form") {
  const double W = 1000, tau = 100, C = 5, R = 10, D = 20, mtbf = 1000, lambda = 1 / mtbf;
  Scenario s;
  s.profile = simtest::flat_profile(W, C, R, D);
  s.nodes = 1;
  s.jobs_per_node = 1;
  s.c = Case::IV;
  s.interval_s = tau;
  s.failures.kind = FailureModel::Kind::Node;
  s.failures.mtbf_s = mtbf;
  s.replications = 4000;
  s.seed = 7;
  const CellResult r = run_cell(s);

  // The issue's formula: W/tau segments of tau + C, each restart paying R.
  const double E_issue = W / tau * segment(tau + C, R, D, lambda);
  // The model exactly: no checkpoint after the last segment (nothing left to
  // save), and a failure before the first checkpoint restarts from scratch (no R).
  const double m = W / tau;
  const double E_exact = segment(tau + C, 0, D, lambda) + (m - 2) * segment(tau + C, R, D, lambda) +
                         segment(tau, R, D, lambda);
  INFO("simulated " << r.mean_makespan_s << " +- " << r.ci95_s << ", issue formula " << E_issue << ", exact "
                    << E_exact);
  CHECK(r.kills > 100);  // failures really happened
  CHECK(r.mean_makespan_s == Approx(E_issue).epsilon(0.02));
  CHECK(r.mean_makespan_s == Approx(E_exact).epsilon(0.01));
  // One job alone: its turnaround is the makespan.
  CHECK(r.mean_turnaround_s == Approx(r.mean_makespan_s).epsilon(1e-12));
}

TEST_CASE("Weibull node failures with shape 1 are the exponential ones, other shapes differ") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 5, 10, 20);
  s.nodes = 2;
  s.jobs_per_node = 2;
  s.c = Case::IV;
  s.interval_s = 100;
  s.failures.kind = FailureModel::Kind::Node;
  s.failures.mtbf_s = 800;
  s.replications = 20;
  const CellResult exp1 = run_cell(s);
  s.failures.weibull_shape = 1.0;
  CHECK(run_cell(s).replication_means == exp1.replication_means);
  s.failures.weibull_shape = 0.7;
  CHECK(run_cell(s).replication_means != exp1.replication_means);
}

TEST_CASE("the paper's uniform kill: cases III, IIIp and IV against their closed forms") {
  // One kill with probability p at a time uniform over the failure-free run L:
  //   III:  E = W + p W/2                 (restart from scratch at once)
  //   IIIp: E = W + p (W/2 + D)           (after the reboot)
  //   IV:   L = W + C, the image is complete at a = F W + C;
  //         E = (1-p) L + p [L/2 + a + (1 - a/L)(R + (1-F) W)]
  //         (killed before a: from scratch, L again; after: restore, the rest).
  const double W = 1000, C = 50, R = 30, D = 100, F = 0.5, p = 0.46;
  Scenario s;
  s.profile = simtest::flat_profile(W, C, R, D);
  s.nodes = 8;
  s.jobs_per_node = 15;
  s.replications = 200;
  s.checkpoint_at = F;
  s.failures.p = p;
  s.seed = 11;
  const double L = W + C, a = F * W + C;
  struct Expect {
    Case c;
    double e;
  };
  for (const Expect& x : {Expect{Case::III, W + p * W / 2}, Expect{Case::IIIp, W + p * (W / 2 + D)},
                          Expect{Case::IV, (1 - p) * L + p * (L / 2 + a + (1 - a / L) * (R + (1 - F) * W))}}) {
    s.c = x.c;
    const CellResult r = run_cell(s);
    INFO("case " << to_string(x.c) << ": simulated " << r.mean_turnaround_s << " +- " << r.ci95_s << ", closed form "
                 << x.e);
    CHECK(r.mean_turnaround_s == Approx(x.e).epsilon(0.01));
    CHECK(std::abs(r.mean_turnaround_s - x.e) < 4 * r.ci95_s + 1e-9);
    // About p of the jobs were killed.
    CHECK(double(r.kills) / (8 * 15 * 200) == Approx(p).margin(0.02));
  }
}

TEST_CASE("case V on a single node has nowhere to go: it is case IV, draw for draw") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  s.nodes = 1;
  s.jobs_per_node = 10;
  s.replications = 10;
  s.c = Case::IV;
  const CellResult iv = run_cell(s);
  s.c = Case::V;
  const CellResult v = run_cell(s);
  CHECK(v.replication_means == iv.replication_means);
  CHECK(v.migrations == 0);
}

TEST_CASE("case V moves killed jobs to another node, where they share the CPU (share placement)") {
  Scenario s;
  s.v_placement = VPlacement::Share;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  s.nodes = 4;
  s.jobs_per_node = 5;
  s.replications = 5;
  s.failures.p = 1;  // every job is killed once
  s.c = Case::V;
  const CellResult v = run_cell(s);
  CHECK(v.migrations > 0);
  CHECK(v.migrations <= v.kills);
  CHECK(v.kills == 4 * 5 * 5);
  // A migrated job pays copy + restore and then shares a CPU: never faster than IV's restore in place.
  s.c = Case::IV;
  const CellResult iv = run_cell(s);
  CHECK(v.mean_turnaround_s > iv.mean_turnaround_s);
}

TEST_CASE("common random numbers: the same jobs are killed in every case") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  s.replications = 5;
  s.failures.p = 0.3;
  long kills = -1;
  for (Case c : {Case::III, Case::IIIp, Case::IV}) {
    s.c = c;
    const CellResult r = run_cell(s);
    if (kills < 0) kills = r.kills;
    CHECK(r.kills == kills);
  }
}

TEST_CASE("results do not depend on the number of worker processes") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  s.replications = 6;
  std::vector<Scenario> cells;
  for (Case c : all_cases()) {
    s.c = c;
    cells.push_back(s);
  }
  const auto one = run_cells(cells, 1), two = run_cells(cells, 2);
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) CHECK(one[i].replication_means == two[i].replication_means);
}

TEST_CASE("run_cell rejects bad scenarios with SimError") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 50, 30, 100);
  auto rejects = [](Scenario bad) { CHECK_THROWS_AS(run_cell(bad), SimError); };
  s.failures.p = 1.5;
  rejects(s);
  s.failures.p = 0.5;
  s.interval_s = -1;
  rejects(s);
  s.interval_s = 0;
  s.checkpoint_at = 1.0;
  rejects(s);
  s.checkpoint_at = 0.5;
  s.failures.kind = FailureModel::Kind::Node;
  s.failures.mtbf_s = -3;
  rejects(s);
  s.failures.kind = FailureModel::Kind::PerJob;
  s.nodes = 0;
  rejects(s);
  s.nodes = 2;
  s.platform_file = "/nonexistent/platform.xml";
  rejects(s);
  CHECK_THROWS_AS(parse_case("VI"), SimError);
}
