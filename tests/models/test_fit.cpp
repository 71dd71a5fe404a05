// The fits every profile is made of must recover what generated the data.
#include <catch2/catch.hpp>

#include <cmath>

#include "models/profile.h"

using namespace ckptsim::models;

TEST_CASE("fit_powers recovers a cubic in the matrix order exactly") {
  std::vector<double> x, y;
  for (int n = 2100; n <= 4800; n += 300) {
    x.push_back(n);
    y.push_back(3.5 + 1e-6 * n * double(n) + 2.2e-8 * std::pow(n, 3));
  }
  auto fit = fit_powers(x, y, {0, 2, 3});
  REQUIRE(fit.curve.coef.size() == 3);
  CHECK(fit.curve.coef[0] == Approx(3.5).epsilon(1e-6));
  CHECK(fit.curve.coef[1] == Approx(1e-6).epsilon(1e-6));
  CHECK(fit.curve.coef[2] == Approx(2.2e-8).epsilon(1e-8));
  CHECK(fit.curve.r2 == Approx(1.0));
  for (double r : fit.residuals) CHECK(std::abs(r) < 1e-6);
  CHECK(fit.curve(4100) == Approx(3.5 + 1e-6 * 4100 * 4100 + 2.2e-8 * std::pow(4100, 3)));
}

TEST_CASE("fit_powers on noisy linear data: close coefficients, R^2 below 1, residuals sum to ~0") {
  std::vector<double> x, y;
  // Deterministic +-1 "noise" around y = 2 + 3e-7 x.
  for (int i = 0; i < 20; ++i) {
    x.push_back(1e7 * (i + 1));
    y.push_back(2 + 3e-7 * x.back() + ((i % 2) ? 1.0 : -1.0));
  }
  auto fit = fit_powers(x, y, {0, 1});
  CHECK(fit.curve.coef[1] == Approx(3e-7).epsilon(0.02));
  CHECK(fit.curve.r2 < 1.0);
  CHECK(fit.curve.r2 > 0.99);
  double sum = 0;
  for (double r : fit.residuals) sum += r;
  CHECK(std::abs(sum) < 1e-6);
  // R^2 by hand.
  double mean = 0;
  for (double v : y) mean += v / y.size();
  double ss_res = 0, ss_tot = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    ss_res += fit.residuals[i] * fit.residuals[i];
    ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  CHECK(fit.curve.r2 == Approx(1 - ss_res / ss_tot));
}

TEST_CASE("fit_powers refuses too few points and mismatched inputs") {
  CHECK_THROWS_AS(fit_powers({1, 2}, {1, 2}, {0, 1, 2}), ProfileError);
  CHECK_THROWS_AS(fit_powers({1, 2, 3}, {1, 2}, {0, 1}), ProfileError);
  CHECK_THROWS_AS(fit_powers({1, 2, 3}, {1, 2, 3}, {}), ProfileError);
}
