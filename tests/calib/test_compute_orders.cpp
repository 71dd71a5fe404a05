// The job's compute time is measured at the calibrated orders (issue 10,
// item 4): which orders are timed, how the curve is fitted on them, and what
// the fit reports about orders it was not fitted on.
#include <catch2/catch.hpp>
#include <cmath>

#include "calib/calibrate.h"
#include "calib/fit.h"
#include "test_helpers.h"

using ckptsim::calib::CalibrationOptions;
using ckptsim::calib::compute_orders;

TEST_CASE("compute runs default to every checkpointed order, or a spread sample of them", "[compute]") {
  CalibrationOptions o;
  o.sizes = {4800, 2100, 2400, 2700, 3000, 3300, 3600, 3900, 4200, 4500};
  CHECK(compute_orders(o) == std::vector<int>{2100, 2400, 2700, 3000, 3300, 3600, 3900, 4200, 4500, 4800});
  o.compute_spread = 4;
  CHECK(compute_orders(o) == std::vector<int>{2100, 3000, 3900, 4800});
  o.compute_spread = 3;
  CHECK(compute_orders(o) == std::vector<int>{2100, 3600, 4800});
  o.compute_sizes = {300, 600};
  CHECK(compute_orders(o) == std::vector<int>{300, 600});  // an explicit list is taken as it is
}

TEST_CASE("the compute curve is fitted on the calibrated range, with residuals and leave-one-out errors",
          "[compute]") {
  // A naive multiply whose time per multiply-add doubles past order 1800 (its
  // matrices stop fitting in cache): small orders follow 1 ns, large 2 ns.
  std::vector<double> n, s;
  for (int k : {300, 600, 900, 1200, 1500}) n.push_back(k), s.push_back(1e-9 * k * k * k + 0.01);
  for (int k = 2100; k <= 4800; k += 300) n.push_back(k), s.push_back(2e-9 * k * k * k + 0.01 + 1e-3 * (k % 600 ? 1 : -1));
  const auto in_range = ckptsim::calib::fit_compute_runs(n, s, 2100, 4800);
  const auto everything = ckptsim::calib::fit_compute_runs(n, s, 0, 0);  // no range: every run
  // Fitted on the calibrated orders only, the curve is right where it is used...
  CHECK(in_range.fit.curve(4100) == Approx(2e-9 * 4100.0 * 4100 * 4100).epsilon(0.01));
  CHECK(in_range.worst_residual_pct < 1);
  int fitted = 0;
  for (bool f : in_range.fitted) fitted += f;
  CHECK(fitted == 10);
  // ... every run has its residual, the small orders' show how far off they are.
  REQUIRE(in_range.residual_pct.size() == n.size());
  CHECK(std::fabs(in_range.residual_pct[0]) > 20);
  // Each calibrated order predicted from the others.
  CHECK(in_range.loo_order.size() == 10);
  CHECK(std::fabs(in_range.worst_loo_pct) < 2);
  CHECK(in_range.fit.curve.why.find("calibrated orders 2100..4800") != std::string::npos);
  // Fitted on everything, the curve misses the calibrated orders by more.
  CHECK(everything.worst_residual_pct > in_range.worst_residual_pct);
}

TEST_CASE("calibrate refuses fewer than three timed orders, and spread:K with K < 3", "[compute][cli]") {
  calib_test::TempDir tmp;
  const auto out = (tmp.path() / "p.json").string();
  for (const auto& args : std::vector<std::vector<std::string>>{{"--sizes", "300,500"},
                                                                {"--sizes", "300:900:100", "--compute-sizes", "spread:2"},
                                                                {"--sizes", "300:900:100", "--compute-sizes", "spread:x"}}) {
    std::vector<std::string> all = {"calibrate", "--reps", "1", "--out", out, "--no-disk-probe"};
    all.insert(all.end(), args.begin(), args.end());
    INFO(args.back());
    auto r = calib_test::run_ckptsim(all, tmp.path());
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(r.err_lines() == 1);
    CHECK_FALSE(std::filesystem::exists(out));
  }
}
