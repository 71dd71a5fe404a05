// Cost curves: evaluation and least-squares fits (Eigen, column-pivoting QR).
#include <cmath>
#include <numeric>

#include <Eigen/Dense>

#include "models/profile.h"

namespace ckptsim::models {

double Curve::operator()(double x) const {
  double y = 0;
  for (size_t i = 0; i < powers.size() && i < coef.size(); ++i) y += coef[i] * std::pow(x, powers[i]);
  return y;
}

FitResult fit_powers(const std::vector<double>& x, const std::vector<double>& y,
                     const std::vector<int>& powers) {
  if (x.size() != y.size()) throw ProfileError("fit: x and y have different lengths");
  if (powers.empty()) throw ProfileError("fit: no powers given");
  if (x.size() < powers.size())
    throw ProfileError("fit: " + std::to_string(x.size()) + " points cannot determine " +
                       std::to_string(powers.size()) + " coefficients");
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  const Eigen::Index k = static_cast<Eigen::Index>(powers.size());
  // Columns are scaled to unit max-abs so that x^3 with x ~ 4000 does not ruin
  // the conditioning; the scale is undone on the coefficients.
  Eigen::MatrixXd a(n, k);
  Eigen::VectorXd b(n);
  Eigen::VectorXd scale(k);
  for (Eigen::Index j = 0; j < k; ++j) {
    double m = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      a(i, j) = std::pow(x[i], powers[j]);
      m = std::max(m, std::abs(a(i, j)));
    }
    scale(j) = m > 0 ? m : 1;
    a.col(j) /= scale(j);
  }
  for (Eigen::Index i = 0; i < n; ++i) b(i) = y[i];
  Eigen::VectorXd c = a.colPivHouseholderQr().solve(b);
  FitResult r;
  r.curve.powers = powers;
  for (Eigen::Index j = 0; j < k; ++j) r.curve.coef.push_back(c(j) / scale(j));
  const double mean = std::accumulate(y.begin(), y.end(), 0.0) / y.size();
  double ss_res = 0, ss_tot = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double res = y[i] - r.curve(x[i]);
    r.residuals.push_back(res);
    ss_res += res * res;
    ss_tot += (y[i] - mean) * (y[i] - mean);
  }
  r.curve.r2 = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
  return r;
}

}  // namespace ckptsim::models
