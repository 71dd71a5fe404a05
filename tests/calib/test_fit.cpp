// The fits recover known coefficients, and choose the model for a reason.
#include <catch2/catch.hpp>
#include <cmath>

#include "calib/fit.h"

using ckptsim::calib::fit_compute;
using ckptsim::calib::fit_cost;

TEST_CASE("fit_cost recovers a fixed cost plus a rate and keeps the affine model", "[fit]") {
  std::vector<double> x, y;
  // 0.25 s + 1 s per 200 MB, with a little deterministic noise.
  for (int i = 1; i <= 10; ++i) {
    double bytes = i * 30e6;
    x.push_back(bytes);
    y.push_back(0.25 + bytes / 200e6 + ((i % 2) ? 1e-4 : -1e-4));
  }
  auto f = fit_cost(x, y, "bytes", "s");
  REQUIRE(f.curve.powers == std::vector<int>{0, 1});
  CHECK(f.curve.coef[0] == Approx(0.25).margin(1e-3));
  CHECK(f.curve.coef[1] == Approx(1 / 200e6).epsilon(1e-3));
  CHECK(f.curve.r2 > 0.999);
  CHECK(f.curve.why.find("a + b*x") == 0);
  CHECK(f.curve.x_unit == "bytes");
  CHECK(f.curve.y_unit == "s");
  CHECK(f.residuals.size() == x.size());
}

TEST_CASE("fit_cost prefers the proportional model when there is no fixed cost", "[fit]") {
  std::vector<double> x = {1e8, 2e8, 3e8, 4e8}, y;
  for (double b : x) y.push_back(b / 125e6);
  auto f = fit_cost(x, y, "bytes", "s");
  REQUIRE(f.curve.powers == std::vector<int>{1});
  CHECK(f.curve.coef[0] == Approx(1 / 125e6).epsilon(1e-9));
  CHECK(f.curve.why.find("b*x") == 0);
}

TEST_CASE("fit_cost never keeps a negative intercept", "[fit]") {
  std::vector<double> x = {1e8, 2e8, 3e8, 4e8}, y;
  for (double b : x) y.push_back(-0.5 + b / 100e6);
  auto f = fit_cost(x, y, "bytes", "s");
  REQUIRE(f.curve.powers == std::vector<int>{1});
  CHECK(f.curve.coef[0] > 0);
  CHECK(f.curve.why.find("negative") != std::string::npos);
}

TEST_CASE("fit_compute recovers a*n^3 + b*n^2 + c", "[fit]") {
  const double a = 2.5e-10, b = 3e-8, c = 0.02;
  std::vector<double> n, s;
  for (int k = 300; k <= 1500; k += 300) {
    n.push_back(k);
    s.push_back(a * k * k * k + b * k * k + c);
  }
  auto f = fit_compute(n, s);
  REQUIRE(f.curve.powers == std::vector<int>{0, 2, 3});
  CHECK(f.curve.coef[0] == Approx(c).epsilon(1e-6));
  CHECK(f.curve.coef[1] == Approx(b).epsilon(1e-6));
  CHECK(f.curve.coef[2] == Approx(a).epsilon(1e-6));
  CHECK(f.curve(4800) == Approx(a * 4800.0 * 4800 * 4800 + b * 4800.0 * 4800 + c).epsilon(1e-6));
}

TEST_CASE("fit_cost never keeps a falling cost", "[fit]") {
  // A fixed cost with noise that happens to fall with size (tiny images).
  std::vector<double> x = {11e6, 14e6, 18e6}, y = {0.20, 0.19, 0.185};
  auto f = fit_cost(x, y, "bytes", "s");
  REQUIRE(f.curve.powers == std::vector<int>{1});
  CHECK(f.curve(18e6) > f.curve(11e6));
  CHECK(f.curve.why.find("slope") != std::string::npos);
}
