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

struct FittedProfile {
  models::Profile profile;
  std::vector<std::string> warnings;  // poor R^2, swapping...
  // residuals of each curve, in row order (also stored in the profile's fits)
  nlohmann::json fit_details;
};

// Throws std::runtime_error if there are too few rows to fit (fewer than two
// distinct sizes, or fewer than three compute points).
FittedProfile build_profile(const CalibrationResult& r, const std::string& name);

}  // namespace ckptsim::calib
