// From raw measurements to a profile: least-squares cost curves (through
// models::fit_powers, Eigen) with the choice of model explained.
#pragma once
#include <string>
#include <vector>

#include "calib/calibrate.h"
#include "models/profile.h"

namespace ckptsim::calib {

// y against x with a + b*x and with b*x alone; keeps the affine model when its
// intercept is non-negative, its slope positive, and it explains clearly more (residual sum of
// squares down by more than 10 %), else the proportional one. `why` says so.
models::FitResult fit_cost(const std::vector<double>& x, const std::vector<double>& y, const std::string& x_unit,
                           const std::string& y_unit);

// Compute time against the order: a*n^3 + b*n^2 + c.
models::FitResult fit_compute(const std::vector<double>& n, const std::vector<double>& seconds);

// The compute curve as calibrate fits it: c + b*n^2 + a*n^3 on the runs at
// orders within [lo, hi] (the checkpointed orders) when at least three
// distinct orders are there, else on every run. Every run gets its residual;
// with four or more fitted orders, each fitted order is also predicted from
// the others (leave-one-out): how far the curve misses an order it was not
// fitted on, the error to expect at unmeasured orders in the range.
struct ComputeFit {
  models::FitResult fit;          // residuals: of the fitted runs, in their order
  std::vector<double> residual_s, residual_pct;  // every run against the curve
  std::vector<bool> fitted;        // run used in the fit
  std::vector<double> loo_order, loo_pct;  // leave-one-out error per fitted order
  double worst_residual_pct = 0, worst_loo_pct = 0;
  int worst_loo_order = 0;
};
ComputeFit fit_compute_runs(const std::vector<double>& n, const std::vector<double>& seconds, double lo, double hi);

struct FittedProfile {
  models::Profile profile;
  std::vector<std::string> warnings;  // poor R^2, swapping...
  // residuals of each curve, in row order (also stored in the profile's fits)
  nlohmann::json fit_details;
  std::vector<std::string> notes;     // compute residuals, the memory knee (or its absence): printed, not warnings
};

// Throws std::runtime_error if there are too few rows to fit (fewer than two
// distinct sizes, or fewer than three compute points).
FittedProfile build_profile(const CalibrationResult& r, const std::string& name);

}  // namespace ckptsim::calib
