// Without failures the model must add up exactly: case I is the jobs' compute
// time back to back, case II adds exactly the dump costs.
#include <catch2/catch.hpp>

#include "sim_test_support.h"

using namespace ckptsim;
using namespace ckptsim::sim;

TEST_CASE("case I: makespan is the sum of each node's job times, turnaround is the compute time") {
  Scenario s;
  s.profile = models::load_profile(simtest::source_dir() / "data/profiles/paper-p4.json");
  s.order = 2500;
  s.nodes = 3;
  s.jobs_per_node = 4;
  s.replications = 3;
  s.c = Case::I;
  const double w = s.profile.job_compute_s(2500);
  const CellResult r = run_cell(s);
  REQUIRE(r.replication_means.size() == 3);
  for (double m : r.replication_makespans) CHECK(m == Approx(4 * w).epsilon(1e-12));
  CHECK(r.mean_turnaround_s == Approx(w).epsilon(1e-12));
  CHECK(r.ci95_s == Approx(0).margin(1e-9));
  CHECK(r.kills == 0);
}

TEST_CASE("case II: one checkpoint adds exactly the dump cost, periodic ones add one dump each") {
  Scenario s;
  s.profile = models::load_profile(simtest::source_dir() / "data/profiles/paper-p4.json");
  s.order = 4100;
  s.nodes = 2;
  s.jobs_per_node = 5;
  s.replications = 2;
  s.c = Case::II;
  const double w = s.profile.job_compute_s(4100), c = s.profile.job_dump_s(4100);
  REQUIRE(c > 10);
  const CellResult one = run_cell(s);
  // Disk I/O is whole bytes: the dump is exact to a fraction of a microsecond.
  CHECK(one.mean_turnaround_s == Approx(w + c).margin(1e-5));
  for (double m : one.replication_makespans) CHECK(m == Approx(5 * (w + c)).margin(1e-4));

  s.interval_s = 400;  // checkpoints at 400, 800, 1200 s of compute (w ~ 1500 s)
  REQUIRE(w > 1200);
  REQUIRE(w < 1600);
  const CellResult periodic = run_cell(s);
  CHECK(periodic.mean_turnaround_s == Approx(w + 3 * c).margin(1e-5));
}

TEST_CASE("cases with failures but failure rate 0 equal case I or II exactly") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 40, 25, 100);
  s.nodes = 4;
  s.jobs_per_node = 3;
  s.replications = 2;
  s.failures.p = 0;
  for (Case c : {Case::III, Case::IIIp}) {
    s.c = c;
    CHECK(run_cell(s).mean_turnaround_s == Approx(1000).epsilon(1e-12));
  }
  for (Case c : {Case::IV, Case::V}) {
    s.c = c;
    CHECK(run_cell(s).mean_turnaround_s == Approx(1040).margin(1e-5));
  }
}

TEST_CASE("failure rate 1 kills every job exactly once") {
  Scenario s;
  s.profile = simtest::flat_profile(1000, 40, 25, 100);
  s.nodes = 4;
  s.jobs_per_node = 3;
  s.replications = 2;
  s.failures.p = 1;
  s.c = Case::III;
  const CellResult r = run_cell(s);
  CHECK(r.kills == 4 * 3 * 2);
  CHECK(r.mean_turnaround_s > 1000);
  CHECK(r.mean_turnaround_s < 2000);
}

TEST_CASE("the platform XML gives the same results as the platform built in code") {
  Scenario s;
  s.profile = models::load_profile(simtest::source_dir() / "data/profiles/paper-p4.json");
  s.order = 3000;
  s.replications = 4;
  for (Case c : all_cases()) {
    s.c = c;
    s.platform_file.clear();
    const CellResult built = run_cell(s);
    s.platform_file = simtest::source_dir() / "data/platforms/paper-cluster.xml";
    const CellResult loaded = run_cell(s);
    INFO("case " << to_string(c));
    CHECK(loaded.mean_turnaround_s == Approx(built.mean_turnaround_s).epsilon(1e-6));
  }
}
