#include "calib/fit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "util/format.h"

namespace ckptsim::calib {

namespace {
double sse(const std::vector<double>& r) {
  double s = 0;
  for (double v : r) s += v * v;
  return s;
}
}  // namespace

models::FitResult fit_cost(const std::vector<double>& x, const std::vector<double>& y, const std::string& x_unit,
                           const std::string& y_unit) {
  models::FitResult prop = models::fit_powers(x, y, {1});
  std::set<double> distinct(x.begin(), x.end());
  models::FitResult chosen = prop;
  if (distinct.size() >= 2) {
    models::FitResult affine = models::fit_powers(x, y, {0, 1});
    const double sa = sse(affine.residuals), sp = sse(prop.residuals);
    const double a = affine.curve.coef[0], b = affine.curve.coef[1];
    if (b <= 0) {
      chosen = prop;
      chosen.curve.why = util::format("b*x: the affine fit's slope (%.3g) is not positive (noise over too narrow a range "
                                      "of sizes); R2 %.4f (affine %.4f)", b, prop.curve.r2, affine.curve.r2);
    } else if (a < 0) {
      chosen = prop;
      chosen.curve.why = util::format("b*x: the affine fit's intercept (%.3g) is negative, which is not physical; "
                                      "R2 %.4f (affine %.4f)", a, prop.curve.r2, affine.curve.r2);
    } else if (sa < 0.9 * sp) {
      chosen = affine;
      chosen.curve.why = util::format("a + b*x: the fixed cost a = %.3g is real (residual sum of squares %.3g vs %.3g "
                                      "for b*x alone)", a, sa, sp);
    } else {
      chosen = prop;
      chosen.curve.why = util::format("b*x: an intercept (%.3g) explains little (residual sum of squares %.3g vs %.3g), "
                                      "so the simpler proportional model", a, sa, sp);
    }
  } else {
    chosen.curve.why = "b*x: a single size, so only a proportional model can be fitted";
  }
  chosen.curve.x_unit = x_unit;
  chosen.curve.y_unit = y_unit;
  return chosen;
}

models::FitResult fit_compute(const std::vector<double>& n, const std::vector<double>& seconds) {
  models::FitResult f = models::fit_powers(n, seconds, {0, 2, 3});
  f.curve.x_unit = "order";
  f.curve.y_unit = "s";
  f.curve.why = "c + b*n^2 + a*n^3: the multiplication is n^3 multiply-adds, filling and writing the "
                "matrices n^2, start-up constant; timed uninterrupted runs without the library";
  return f;
}

ComputeFit fit_compute_runs(const std::vector<double>& n, const std::vector<double>& seconds, double lo, double hi) {
  ComputeFit out;
  std::set<double> in_range;
  for (double v : n)
    if (v >= lo && v <= hi) in_range.insert(v);
  const bool ranged = in_range.size() >= 3;
  std::vector<double> fn, fs;
  for (size_t i = 0; i < n.size(); ++i) {
    const bool use = !ranged || (n[i] >= lo && n[i] <= hi);
    out.fitted.push_back(use);
    if (use) fn.push_back(n[i]), fs.push_back(seconds[i]);
  }
  out.fit = fit_compute(fn, fs);
  for (size_t i = 0; i < n.size(); ++i) {
    const double r = seconds[i] - out.fit.curve(n[i]);
    out.residual_s.push_back(r);
    out.residual_pct.push_back(seconds[i] > 0 ? 100.0 * r / seconds[i] : 0);
    if (out.fitted[i]) out.worst_residual_pct = std::max(out.worst_residual_pct, std::fabs(out.residual_pct.back()));
  }
  // Leave one order out, predict it from the rest.
  const std::set<double> orders(fn.begin(), fn.end());
  if (orders.size() >= 4)
    for (double left : orders) {
      std::vector<double> ln, ls;
      double measured = 0;
      int count = 0;
      for (size_t i = 0; i < fn.size(); ++i)
        if (fn[i] == left) measured += fs[i], ++count;
        else ln.push_back(fn[i]), ls.push_back(fs[i]);
      measured /= count;
      const double predicted = fit_compute(ln, ls).curve(left);
      const double pct = measured > 0 ? 100.0 * (predicted - measured) / measured : 0;
      out.loo_order.push_back(left);
      out.loo_pct.push_back(pct);
      if (std::fabs(pct) > std::fabs(out.worst_loo_pct)) out.worst_loo_pct = pct, out.worst_loo_order = static_cast<int>(left);
    }
  std::string why = out.fit.curve.why + ", ";
  if (ranged)
    why += util::format("fitted on the %.0f runs at the calibrated orders %.0f..%.0f only (a naive multiply's time per "
                        "multiply-add changes with the order, so smaller orders would bend the curve where it is used)",
                        static_cast<double>(fn.size()), lo, hi);
  else
    why += "fitted on every run (fewer than three orders timed within the calibrated range)";
  why += util::format("; residuals within %.1f %%", out.worst_residual_pct);
  if (!out.loo_order.empty())
    why += util::format("; leaving one order out, the curve misses it by up to %.1f %% (order %d)",
                        std::fabs(out.worst_loo_pct), out.worst_loo_order);
  out.fit.curve.why = why;
  return out;
}

}  // namespace ckptsim::calib
