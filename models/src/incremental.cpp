// Incremental dump costs: the dirty rate against the order, and the stop an
// incremental dump costs against what it writes and what it checks.
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <set>

#include "models/profile.h"

namespace ckptsim::models {

double Profile::job_written_bytes(double n, double since_s) const {
  const double dirty = std::max(0.0, incremental.dirty_Bps(n)) * std::max(0.0, since_s);
  return std::min(dirty, std::max(0.0, job_image_bytes(n)));
}

IncrementalCost fit_incremental_cost(const std::vector<IncrementalDump>& dumps) {
  if (dumps.size() < 3) throw ProfileError("incremental fit: needs at least 3 incremental dumps");
  for (const auto& d : dumps)
    if (!std::isfinite(d.written_bytes) || !std::isfinite(d.process_bytes) || !std::isfinite(d.cost_s))
      throw ProfileError("incremental fit: a non-finite measurement");
  // Least squares with every coefficient >= 0 (a cost cannot fall with more
  // bytes; noise over a narrow range would say so). With three unknowns the
  // exact non-negative solution is the best of the unconstrained fits on each
  // subset of them whose coefficients all come out >= 0.
  Eigen::MatrixXd X(dumps.size(), 3);
  Eigen::VectorXd y(dumps.size());
  for (size_t i = 0; i < dumps.size(); ++i) {
    X(i, 0) = 1;
    X(i, 1) = dumps[i].written_bytes;
    X(i, 2) = dumps[i].process_bytes;
    y(i) = dumps[i].cost_s;
  }
  // Columns in bytes next to a column of ones: scaled so QR sees comparable norms.
  Eigen::Vector3d scale(1, std::max(1.0, X.col(1).cwiseAbs().maxCoeff()), std::max(1.0, X.col(2).cwiseAbs().maxCoeff()));
  const Eigen::MatrixXd Xs = X * scale.cwiseInverse().asDiagonal();
  Eigen::Vector3d b = Eigen::Vector3d::Zero();
  double best_sse = y.squaredNorm();
  for (int subset = 1; subset < 8; ++subset) {
    std::vector<int> cols;
    for (int k = 0; k < 3; ++k)
      if (subset & (1 << k)) cols.push_back(k);
    Eigen::MatrixXd A(Xs.rows(), static_cast<Eigen::Index>(cols.size()));
    for (size_t c = 0; c < cols.size(); ++c) A.col(static_cast<Eigen::Index>(c)) = Xs.col(cols[c]);
    const Eigen::VectorXd sol = A.colPivHouseholderQr().solve(y);
    if ((sol.array() < 0).any() || !sol.allFinite()) continue;
    const double sse = (A * sol - y).squaredNorm();
    if (sse < best_sse) {
      best_sse = sse;
      b.setZero();
      for (size_t c = 0; c < cols.size(); ++c) b(cols[c]) = sol(static_cast<Eigen::Index>(c)) / scale(cols[c]);
    }
  }
  IncrementalCost cost{b(0), b(1), b(2), 0};
  const Eigen::VectorXd fitted = X * b;
  const double mean = y.mean();
  const double ss_tot = (y.array() - mean).square().sum(), ss_res = (y - fitted).squaredNorm();
  cost.r2 = ss_tot > 0 ? std::max(0.0, 1 - ss_res / ss_tot) : 1;
  return cost;
}

Incremental fit_incremental(const std::vector<IncrementalDump>& dumps) {
  if (dumps.size() < 3) throw ProfileError("incremental fit: needs at least 3 incremental dumps");
  Incremental inc;
  // Dirty rate: per order, bytes written per second of compute since the last
  // dump. A job that writes its output row by row (ckpt-matmul: a row of 8n
  // bytes per n² multiply-adds) changes memory at a rate ∝ 1/n.
  std::vector<double> orders, rates;
  std::set<double> distinct;
  for (const auto& d : dumps) {
    if (!(d.since_s > 0) || !std::isfinite(d.written_bytes) || !std::isfinite(d.cost_s))
      throw ProfileError("incremental fit: a dump with no compute before it or a non-finite measurement");
    orders.push_back(d.order);
    rates.push_back(d.written_bytes / d.since_s);
    distinct.insert(d.order);
  }
  const std::vector<int> rate_powers = distinct.size() >= 2 ? std::vector<int>{-1, 0} : std::vector<int>{0};
  inc.dirty_Bps = fit_powers(orders, rates, rate_powers).curve;
  inc.dirty_Bps.x_unit = "order";
  inc.dirty_Bps.y_unit = "bytes/s";
  inc.dirty_Bps.why = distinct.size() >= 2 ? "a + b/n: an output written row by row, 8n bytes per n^2 operations"
                                           : "one order measured: a constant rate";

  inc.stop = fit_incremental_cost(dumps);
  inc.why = "stop of each incremental dump = fixed + per written byte + per process byte (page checksums read it all)";
  return inc;
}

}  // namespace ckptsim::models
