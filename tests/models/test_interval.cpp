// The interval rule `run --interval auto` follows: Daly's higher-order formula
// on the measured cost, an assumed cost only before the first measurement.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "models/interval.h"

using namespace ckptsim::models;

TEST_CASE("Young's and Daly's intervals, and Daly's cap at the MTBF") {
  // C = 1 min, M = 1 h: √(2·60·3600) = 657.27 s; Daly is shorter by about C.
  CHECK(young_interval(60, 3600) == Approx(657.2670690061993).epsilon(1e-12));
  CHECK(daly_interval(60, 3600) == Approx(617.8756496256495).epsilon(1e-12));
  CHECK(daly_interval(200, 100) == 100);
  CHECK_THROWS_AS(daly_interval(-1, 10), IntervalError);
  CHECK_THROWS_AS(young_interval(1, 0), IntervalError);
}

TEST_CASE("the auto rule uses the measured cost, and an assumed one only before any dump") {
  const AutoInterval rule = daly_auto_interval(3600);
  CHECK(rule.next(-1) == Approx(daly_interval(AutoInterval::kAssumedDumpS, 3600)));
  CHECK(rule.next(0.05) == Approx(daly_interval(0.05, 3600)));
  // A cheaper dump (an incremental one, a forked one) means more frequent checkpoints.
  CHECK(rule.next(0.01) < rule.next(0.05));
  CHECK(rule.explain(0.05) == "Daly, C = 0.0500 s, MTBF 3600 s");
  CHECK(rule.explain(-1).find("assumed C = 1 s") != std::string::npos);
  CHECK_THROWS_AS(daly_auto_interval(0), IntervalError);
  CHECK_THROWS_AS(daly_auto_interval(std::numeric_limits<double>::infinity()), IntervalError);
}
