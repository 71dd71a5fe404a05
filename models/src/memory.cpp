// The memory term of the costs (docs/internals.md, "Memory"): bytes past the
// knee move at swap speed; and its fit, knee and rates from measured costs.
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "models/profile.h"

namespace ckptsim::models {

double Memory::excess_bytes(double need) const {
  if (!known() || !(need > 0)) return 0;
  const double over = need - usable_bytes();
  return over > 0 ? over : 0;
}

double Memory::excess_s(double need) const {
  const double over = excess_bytes(need);
  return over > 0 && swap_Bps > 0 ? over / swap_Bps : 0;
}

namespace {

struct TwoColumnFit {
  bool ok = false;
  double b = 0, s = 0, sse = 0;  // y ~ b*x + s*excess
};

// Least squares of y against x alone (excess all zero) or x and excess.
TwoColumnFit fit_columns(const std::vector<double>& x, const std::vector<double>& excess,
                         const std::vector<double>& y, bool with_excess) {
  const Eigen::Index n = static_cast<Eigen::Index>(x.size());
  const Eigen::Index k = with_excess ? 2 : 1;
  Eigen::MatrixXd a(n, k);
  Eigen::VectorXd b(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    a(i, 0) = x[i] / 1e9;  // GB: keeps the columns of similar size
    if (with_excess) a(i, 1) = excess[i] / 1e9;
    b(i) = y[i];
  }
  const Eigen::VectorXd c = a.colPivHouseholderQr().solve(b);
  TwoColumnFit f;
  f.b = c(0) / 1e9;
  f.s = with_excess ? c(1) / 1e9 : 0;
  f.sse = (a * c - b).squaredNorm();
  f.ok = std::isfinite(f.sse) && f.b > 0 && (!with_excess || f.s > 0);
  return f;
}

}  // namespace

KneeFit fit_memory_knee(const std::vector<double>& bytes, const std::vector<double>& need,
                        const std::vector<double>& y, double ram_bytes, double min_usable_bytes) {
  if (bytes.size() != y.size() || need.size() != y.size())
    throw ProfileError("memory fit: bytes, need and cost have different lengths");
  if (y.size() < 3) throw ProfileError("memory fit: needs at least 3 points");
  if (!(ram_bytes > 0)) throw ProfileError("memory fit: RAM must be positive");

  KneeFit out;
  out.memory.ram_bytes = ram_bytes;
  const std::vector<double> none(y.size(), 0.0);
  const TwoColumnFit linear = fit_columns(bytes, none, y, false);
  out.sse_linear = linear.sse;
  out.s_per_byte = linear.b;
  out.sse = linear.sse;

  // The knee (usable RAM) on a grid of 1/2560 of the RAM (0.25 MiB at 640 MiB):
  // for each, the two rates are linear least squares. Usable RAM must hold
  // every process of the table (compute alone never swaps there) and leave at
  // least two points past the knee, so the swap rate is determined.
  constexpr int kSteps = 2560;
  TwoColumnFit best;
  double best_usable = 0;
  std::vector<double> excess(y.size());
  for (int i = 1; i <= kSteps; ++i) {
    const double usable = ram_bytes * i / kSteps;
    if (usable < min_usable_bytes) continue;
    int past = 0;
    for (size_t j = 0; j < y.size(); ++j) {
      excess[j] = need[j] > usable ? need[j] - usable : 0;
      past += excess[j] > 0;
    }
    if (past < 2) continue;
    const TwoColumnFit f = fit_columns(bytes, excess, y, true);
    if (f.ok && (!best.ok || f.sse < best.sse)) {
      best = f;
      best_usable = usable;
    }
  }
  // The knee is kept only when it earns its two parameters: the residual sum
  // of squares must fall by more than half (and a straight line must not
  // already fit to rounding).
  double scale = 0;
  for (double v : y) scale += v * v;
  out.knee = best.ok && best.sse < 0.5 * linear.sse && linear.sse > 1e-12 * scale;
  if (out.knee) {
    out.memory.reserved_bytes = ram_bytes - best_usable;
    out.memory.swap_Bps = 1.0 / best.s;
    out.s_per_byte = best.b;
    out.sse = best.sse;
  }
  for (size_t j = 0; j < y.size(); ++j)
    out.residuals.push_back(y[j] - (out.s_per_byte * bytes[j] + out.memory.excess_s(need[j])));
  double mean = 0, sst = 0;
  for (double v : y) mean += v / static_cast<double>(y.size());
  for (double v : y) sst += (v - mean) * (v - mean);
  out.r2 = sst > 0 ? 1 - out.sse / sst : 1;
  return out;
}

}  // namespace ckptsim::models
