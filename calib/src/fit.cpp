#include "calib/fit.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

namespace ckptsim::calib {

namespace {
constexpr double kPoorR2 = 0.9;

double sse(const std::vector<double>& r) {
  double s = 0;
  for (double v : r) s += v * v;
  return s;
}
std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}
nlohmann::json details(const models::FitResult& f, const std::vector<double>& x, const std::vector<double>& y) {
  return {{"powers", f.curve.powers}, {"coef", f.curve.coef}, {"r2", f.curve.r2}, {"why", f.curve.why},
          {"x", x}, {"y", y}, {"residuals", f.residuals}};
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
      chosen.curve.why = fmt("b*x: the affine fit's slope (%.3g) is not positive (noise over too narrow a range "
                             "of sizes); R2 %.4f (affine %.4f)", b, prop.curve.r2, affine.curve.r2);
    } else if (a < 0) {
      chosen = prop;
      chosen.curve.why = fmt("b*x: the affine fit's intercept (%.3g) is negative, which is not physical; "
                             "R2 %.4f (affine %.4f)", a, prop.curve.r2, affine.curve.r2);
    } else if (sa < 0.9 * sp) {
      chosen = affine;
      chosen.curve.why = fmt("a + b*x: the fixed cost a = %.3g is real (residual sum of squares %.3g vs %.3g "
                             "for b*x alone)", a, sa, sp);
    } else {
      chosen = prop;
      chosen.curve.why = fmt("b*x: an intercept (%.3g) explains little (residual sum of squares %.3g vs %.3g), "
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

FittedProfile build_profile(const CalibrationResult& r, const std::string& name) {
  FittedProfile out;
  std::set<int> orders;
  for (const auto& row : r.rows) orders.insert(row.order);
  if (orders.size() < 2)
    throw std::runtime_error("too few measurements to fit (" + std::to_string(r.rows.size()) +
                             " rows over " + std::to_string(orders.size()) + " size(s); need two sizes)");
  if (r.compute.size() < 3)
    throw std::runtime_error("too few compute-rate runs to fit a*n^3 + b*n^2 + c (need three)");

  std::vector<double> order, rss, image, dump, copy, restore;
  for (const auto& row : r.rows) {
    order.push_back(row.order);
    rss.push_back(static_cast<double>(row.rss_bytes));
    image.push_back(static_cast<double>(row.image_bytes));
    dump.push_back(row.dump_s);
    copy.push_back(row.copy_s);
    restore.push_back(row.restore_s);
  }
  std::vector<double> cn, cs;
  for (const auto& c : r.compute) {
    cn.push_back(c.order);
    cs.push_back(c.seconds);
  }

  models::Profile& p = out.profile;
  p.name = name;
  p.source = "calibrate";
  p.machine = r.machine;
  p.machine["disk_write_Bps"] = r.disk_write_Bps;
  p.machine["disk_read_Bps"] = r.disk_read_Bps;
  p.machine["calibration_s"] = r.elapsed_s;
  p.machine["interrupted"] = r.interrupted;

  models::FitResult fc = fit_compute(cn, cs);
  models::FitResult fp = models::fit_powers(order, rss, {0, 2});
  fp.curve.x_unit = "order";
  fp.curve.y_unit = "bytes";
  fp.curve.why = "c + b*n^2: three n x n float matrices (12 bytes per element) plus the program";
  models::FitResult fi = fit_cost(rss, image, "bytes", "bytes");
  models::FitResult fd = fit_cost(image, dump, "bytes", "s");
  models::FitResult fcopy = fit_cost(image, copy, "bytes", "s");
  models::FitResult fr = fit_cost(image, restore, "bytes", "s");
  p.compute_s = fc.curve;
  p.process_bytes = fp.curve;
  p.image_bytes = fi.curve;
  p.dump_s = fd.curve;
  p.copy_s = fcopy.curve;
  p.restore_s = fr.curve;

  p.link_bandwidth_Bps = r.nominal_link_Bps > 0 ? r.nominal_link_Bps : 0;
  if (p.link_bandwidth_Bps == 0) {
    // Unshaped link: its effective rate is the copy curve's slope.
    double slope = p.copy_s.coef.back();
    p.link_bandwidth_Bps = slope > 0 ? 1.0 / slope : 125e6;
  }
  p.link_latency_s = 1e-4;
  p.disk_write_Bps = r.disk_write_Bps;
  p.disk_read_Bps = r.disk_read_Bps;
  p.reboot_s = 100;
  p.assumptions = {
      "dump_s: signal sent -> image complete and renamed into place (every file fsynced); the job is stopped "
      "meanwhile",
      "copy_s: image sent over TCP to `ckptsim receive` (" + r.copy_kind +
          (r.copy_kind == "netns" ? ", veth shaped to 1 Gbit/s with tc tbf" : "") +
          "), from connect to the receiver confirming every XXH3 checksum; not fsynced on the receiving side",
      "restore_s: restart::restore_process (full verification included) from call to the job running again",
      "compute_s: wall time of uninterrupted runs without the checkpoint library",
      "reboot_s: not measured here; the paper's 100 s node reboot",
      "link_latency_s: not measured; 0.1 ms, a switched gigabit LAN",
  };
  if (r.copy_kind == "loopback")
    p.assumptions.push_back("copy over loopback (no rights for network namespaces): unshaped, faster than a real "
                            "gigabit link; link_bandwidth_Bps is the measured copy rate");

  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows)
    rows.push_back({{"order", row.order}, {"rep", row.rep}, {"rss_bytes", row.rss_bytes},
                    {"mapped_bytes", row.mapped_bytes}, {"image_bytes", row.image_bytes},
                    {"image_disk_bytes", row.image_disk_bytes}, {"image_files", row.image_files},
                    {"dump_s", row.dump_s}, {"hash_s", row.hash_s}, {"copy_s", row.copy_s},
                    {"restore_s", row.restore_s}, {"restored_from", row.restored_from},
                    {"progressing", row.progressing}, {"output_verified", row.output_verified},
                    {"swapped_pages", row.swapped_pages}, {"suspect", row.suspect}});
  nlohmann::json compute = nlohmann::json::array();
  for (const auto& c : r.compute) compute.push_back({{"order", c.order}, {"seconds", c.seconds}});
  p.measurements = rows;
  out.fit_details = {{"compute_s", details(fc, cn, cs)},     {"process_bytes", details(fp, order, rss)},
                     {"image_bytes", details(fi, rss, image)}, {"dump_s", details(fd, image, dump)},
                     {"copy_s", details(fcopy, image, copy)},  {"restore_s", details(fr, image, restore)},
                     {"compute_runs", compute},                {"skipped_sizes", r.skipped_sizes},
                     {"warnings", r.warnings}};

  for (const auto& [label, f] : std::vector<std::pair<std::string, const models::FitResult*>>{
           {"dump", &fd}, {"copy", &fcopy}, {"restore", &fr}, {"compute", &fc}, {"image size", &fi}})
    if (f->curve.r2 < kPoorR2)
      out.warnings.push_back(label + " fit is poor (R2 " + fmt("%.3f", f->curve.r2) +
                             "): the points scatter; more repetitions or a quieter machine would help");
  for (const auto& row : r.rows)
    if (row.suspect) {
      out.warnings.push_back("some rows were swapping or not resident (see 'suspect' in the measurements)");
      break;
    }
  return out;
}

}  // namespace ckptsim::calib
