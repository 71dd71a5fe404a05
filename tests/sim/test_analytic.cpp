// The checkpoint-interval formulas the sweep reports beside its simulated optimum.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "sim/analytic.h"

using namespace ckptsim::sim::analytic;

TEST_CASE("analytic: Young and Daly give their known values") {
  CHECK(young_interval(60, 3600) == Approx(657.2670690061993).epsilon(1e-12));
  CHECK(daly_interval(60, 3600) == Approx(617.8756496256495).epsilon(1e-12));
  CHECK(young_interval(0, 3600) == 0);
  // C >= 2M: Daly's rule falls back to τ = M.
  CHECK(daly_interval(200, 100) == 100);
  CHECK(daly_interval(200, 99.9) == Approx(99.9));
}

TEST_CASE("analytic: Young ~ Daly ~ exact optimum when C is small against M") {
  const double M = 86400;
  for (double C : {0.1, 1.0, 10.0}) {
    const double y = young_interval(C, M), d = daly_interval(C, M), opt = optimal_interval(C, 1 / M);
    CHECK(d == Approx(y).epsilon(0.02));
    CHECK(opt == Approx(d).epsilon(0.01));
  }
  // Daly is the better one when C/M grows.
  const double C = 600, M2 = 3600;
  const double opt = optimal_interval(C, 1 / M2);
  CHECK(std::fabs(daly_interval(C, M2) - opt) < std::fabs(young_interval(C, M2) - opt));
}

TEST_CASE("analytic: expected time has its limits") {
  const Costs k{1000, 10, 5, 0};
  // No failures: W(τ + C)/τ exactly.
  CHECK(expected_time(k, 0, 100) == Approx(1100).epsilon(1e-12));
  // Tiny λ tends to the failure-free value.
  CHECK(expected_time(k, 1e-12, 100) == Approx(1100).epsilon(1e-6));
  // Larger λ, longer expected time; downtime and restore only add.
  CHECK(expected_time(k, 1e-3, 100) > expected_time(k, 1e-4, 100));
  CHECK(expected_time(Costs{1000, 10, 50, 30}, 1e-3, 100) > expected_time(k, 1e-3, 100));
  // One chunk, no checkpoint cost, no restore: the classic (e^{λW} − 1)/λ.
  CHECK(expected_time(Costs{1000, 0, 0, 0}, 1e-3, 1000) == Approx(std::expm1(1.0) / 1e-3).epsilon(1e-12));
}

TEST_CASE("analytic: the optimal interval minimises the expected time") {
  for (double lambda : {1e-6, 1e-4, 1e-3, 1e-2}) {
    for (double C : {0.5, 30.0, 300.0}) {
      const Costs k{5000, C, 20, 10};
      const double opt = optimal_interval(C, lambda);
      REQUIRE(opt > 0);
      const double e = expected_time(k, lambda, opt);
      CHECK(expected_time(k, lambda, opt * 0.99) > e);
      CHECK(expected_time(k, lambda, opt * 1.01) > e);
      // And it beats a dense scan of the log grid.
      double best_scan = std::numeric_limits<double>::infinity();
      for (int i = -400; i <= 400; ++i) best_scan = std::fmin(best_scan, expected_time(k, lambda, opt * std::pow(10.0, i / 100.0)));
      CHECK(e <= best_scan);
    }
  }
  // x = λτ lies in (0, 1]; a huge C pushes τ up to the MTBF, never past it.
  CHECK(optimal_interval(1e6, 1e-3) <= 1e3);
  CHECK(optimal_interval(1e6, 1e-3) > 999);
}

TEST_CASE("analytic: the single-kill model has its optimum at sqrt(2WC/p)") {
  const Costs k{1500, 88, 88, 0};
  const double p = 0.46;
  const double tau = single_kill_interval(k.W, k.C, p);
  CHECK(tau == Approx(std::sqrt(2 * 1500 * 88 / 0.46)).epsilon(1e-12));
  const double e = single_kill_expected_time(k, p, tau);
  CHECK(single_kill_expected_time(k, p, tau * 0.98) > e);
  CHECK(single_kill_expected_time(k, p, tau * 1.02) > e);
  // No kill: only the checkpoints cost.
  CHECK(single_kill_expected_time(k, 0, 500) == Approx(1500 + 3 * 88).epsilon(1e-12));
  // Young with the matching exponential rate is shorter by sqrt(p / -ln(1-p)).
  const double young = young_interval(k.C, 1 / rate_from_kill_probability(p, k.W));
  CHECK(young / tau == Approx(std::sqrt(p / -std::log1p(-p))).epsilon(1e-12));
  CHECK_THROWS_AS(single_kill_interval(1500, 88, 0), AnalyticError);
  CHECK_THROWS_AS(single_kill_expected_time(k, 1.5, 100), AnalyticError);
}

TEST_CASE("analytic: kill probability and node count convert to rates") {
  CHECK(rate_from_kill_probability(0.46, 1000) == Approx(0.0006161861394238169).epsilon(1e-12));
  CHECK(rate_from_kill_probability(0, 1000) == 0);
  // One job of length T survives with probability e^{−λT} = 1 − p.
  const double lambda = rate_from_kill_probability(0.3, 250);
  CHECK(std::exp(-lambda * 250) == Approx(0.7).epsilon(1e-12));
  CHECK(platform_mtbf(86400, 8) == 10800);
}

TEST_CASE("analytic: bad input is rejected") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(young_interval(-1, 10), AnalyticError);
  CHECK_THROWS_AS(young_interval(1, 0), AnalyticError);
  CHECK_THROWS_AS(daly_interval(nan, 10), AnalyticError);
  CHECK_THROWS_AS(daly_interval(1, inf), AnalyticError);
  CHECK_THROWS_AS(expected_time(Costs{0, 1, 1, 1}, 1e-3, 10), AnalyticError);
  CHECK_THROWS_AS(expected_time(Costs{10, -1, 1, 1}, 1e-3, 10), AnalyticError);
  CHECK_THROWS_AS(expected_time(Costs{10, 1, 1, 1}, -1, 10), AnalyticError);
  CHECK_THROWS_AS(expected_time(Costs{10, 1, 1, 1}, 1e-3, 0), AnalyticError);
  CHECK_THROWS_AS(optimal_interval(0, 1e-3), AnalyticError);
  CHECK_THROWS_AS(optimal_interval(1, 0), AnalyticError);
  CHECK_THROWS_AS(rate_from_kill_probability(1, 100), AnalyticError);
  CHECK_THROWS_AS(rate_from_kill_probability(-0.1, 100), AnalyticError);
  CHECK_THROWS_AS(rate_from_kill_probability(0.5, 0), AnalyticError);
  CHECK_THROWS_AS(platform_mtbf(100, 0), AnalyticError);
  CHECK_THROWS_AS(platform_mtbf(-5, 2), AnalyticError);
}
