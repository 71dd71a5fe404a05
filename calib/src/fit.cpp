#include "calib/fit.h"

#include <cmath>
#include <cstdio>
#include <algorithm>
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
    why += fmt("fitted on the %.0f runs at the calibrated orders %.0f..%.0f only (a naive multiply's time per "
               "multiply-add changes with the order, so smaller orders would bend the curve where it is used)",
               static_cast<double>(fn.size()), lo, hi);
  else
    why += "fitted on every run (fewer than three orders timed within the calibrated range)";
  why += fmt("; residuals within %.1f %%", out.worst_residual_pct);
  if (!out.loo_order.empty())
    why += fmt("; leaving one order out, the curve misses it by up to %.1f %% (order %.0f)", std::fabs(out.worst_loo_pct),
               out.worst_loo_order);
  out.fit.curve.why = why;
  return out;
}

namespace {
// The memory knee of a limited calibration: dump cost against image bytes,
// with process + image as what must fit (models::fit_memory_knee).
struct MemoryFit {
  bool tried = false;
  models::KneeFit knee;
  std::vector<double> image, need, dump;
  std::string note;
};

MemoryFit fit_memory(const CalibrationResult& r, const std::vector<const MeasureRow*>& rows) {
  MemoryFit m;
  if (r.memory_limit_bytes == 0) return m;
  double largest_process = 0;
  for (const MeasureRow* row : rows) {
    m.image.push_back(static_cast<double>(row->image_bytes));
    m.need.push_back(static_cast<double>(row->rss_bytes + row->image_bytes));
    m.dump.push_back(row->dump_s);
    largest_process = std::max(largest_process, static_cast<double>(row->rss_bytes));
  }
  const double limit = static_cast<double>(r.memory_limit_bytes);
  double most = 0;
  for (double v : m.need) most = std::max(most, v);
  if (m.dump.size() < 3) {
    m.note = "memory: too few measured rows under the limit to look for a knee";
    return m;
  }
  m.tried = true;
  m.knee = models::fit_memory_knee(m.image, m.need, m.dump, limit, largest_process);
  if (m.knee.knee)
    m.note = fmt("memory: knee found under the %.0f MiB limit: usable %.1f MiB of process + image, past it %.2f MB/s",
                 limit / 1048576.0, m.knee.memory.usable_bytes() / 1048576.0, m.knee.memory.swap_Bps / 1e6);
  else
    m.note = fmt("memory: no knee found under the %.0f MiB limit (process + image up to %.1f MiB measured; a knee "
                 "did not halve the dump fit's residuals)",
                 limit / 1048576.0, most / 1048576.0);
  return m;
}
}  // namespace

FittedProfile build_profile(const CalibrationResult& r, const std::string& name) {
  FittedProfile out;
  // Rows and runs the OOM killer ended have no costs: reported, never fitted.
  std::vector<const MeasureRow*> measured;
  std::set<int> orders;
  int oom_rows = 0;
  for (const auto& row : r.rows)
    if (row.ok()) measured.push_back(&row), orders.insert(row.order);
    else ++oom_rows;
  std::set<int> compute_orders;
  for (const auto& c : r.compute)
    if (!c.oom) compute_orders.insert(c.order);
  if (orders.size() < 2)
    throw std::runtime_error("too few measurements to fit (" + std::to_string(measured.size()) + " rows over " +
                             std::to_string(orders.size()) + " size(s); need two sizes" +
                             (oom_rows ? "; " + std::to_string(oom_rows) + " row(s) OOM-killed under the limit" : "") +
                             ")");
  if (compute_orders.size() < 3)
    throw std::runtime_error("too few compute-rate runs to fit a*n^3 + b*n^2 + c (need three orders)");

  std::vector<double> order, rss, image, dump, copy, restore;
  for (const MeasureRow* row : measured) {
    order.push_back(row->order);
    rss.push_back(static_cast<double>(row->rss_bytes));
    image.push_back(static_cast<double>(row->image_bytes));
    dump.push_back(row->dump_s);
    copy.push_back(row->copy_s);
    restore.push_back(row->restore_s);
  }
  std::vector<double> cn, cs;
  for (const auto& c : r.compute)
    if (!c.oom) {
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

  const double lo = r.calibrated_orders.empty() ? 0 : r.calibrated_orders.front();
  const double hi = r.calibrated_orders.empty() ? 0 : r.calibrated_orders.back();
  const ComputeFit cfit = fit_compute_runs(cn, cs, lo, hi);
  const models::FitResult& fc = cfit.fit;
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

  // Under a memory limit: the node's RAM, and the knee if the dumps show one.
  const MemoryFit mf = fit_memory(r, measured);
  nlohmann::json memory_details;
  if (r.memory_limit_bytes > 0) {
    p.memory.ram_bytes = static_cast<double>(r.memory_limit_bytes);
    if (mf.tried && mf.knee.knee) {
      p.memory = mf.knee.memory;
      // The model adds the memory term to b*bytes: the dump curve is the knee fit's rate.
      p.dump_s.powers = {1};
      p.dump_s.coef = {mf.knee.s_per_byte};
      p.dump_s.why = "b*x + the memory term (see memory): the knee halved the residuals of b*x alone";
      p.dump_s.r2 = std::max(0.0, mf.knee.r2);
      p.dump_s.x_unit = "bytes";
      p.dump_s.y_unit = "s";
      fd.curve = p.dump_s;
      fd.residuals = mf.knee.residuals;
      // The model adds the same term to the restore (process + image again):
      // its curve is what remains once that term is taken out, or it would be
      // counted twice.
      std::vector<double> below;
      for (size_t i = 0; i < restore.size(); ++i) below.push_back(restore[i] - p.memory.excess_s(mf.need[i]));
      fr = fit_cost(image, below, "bytes", "s");
      fr.curve.why += "; fitted to restore_s minus the memory term";
      p.restore_s = fr.curve;
    }
    p.memory.why = "ram_bytes: calibrate --memory-limit (a cgroup v" + std::to_string(r.cgroup_version) +
                   " memory limit on this machine); " +
                   (mf.tried && mf.knee.knee ? std::string("reserved_bytes and swap_Bps fitted with the dump rate "
                                                           "(fit_memory_knee)")
                                             : std::string("no knee in the measured range, so no memory term"));
    memory_details = {{"limit_bytes", r.memory_limit_bytes}, {"knee", mf.tried && mf.knee.knee},
                      {"image", mf.image}, {"need", mf.need}, {"dump_s", mf.dump},
                      {"residuals", mf.tried ? mf.knee.residuals : std::vector<double>{}},
                      {"sse", mf.knee.sse}, {"sse_linear", mf.knee.sse_linear}, {"note", mf.note}};
    out.notes.push_back(mf.note);
  }

  // Incremental dumps (run --incremental): the dirty rate and the cost fit.
  if (r.incremental.size() >= 3) {
    std::vector<models::IncrementalDump> dumps;
    for (const auto& i : r.incremental)
      dumps.push_back({double(i.order), double(i.process_bytes), double(i.written_bytes), i.since_s, i.dump_s});
    p.incremental = models::fit_incremental(dumps);
    char line[320];
    std::snprintf(line, sizeof line,
                  "incremental: dirty rate %.1f MB/s at order %d; an incremental dump costs %.3f s + %.3f s/GB "
                  "written + %.3f s/GB of process (R^2 %.2f, %zu dumps)",
                  p.incremental.dirty_Bps(r.incremental.back().order) / 1e6, r.incremental.back().order,
                  p.incremental.fixed_s, p.incremental.s_per_written_byte * 1e9, p.incremental.s_per_process_byte * 1e9,
                  p.incremental.r2, r.incremental.size());
    out.notes.push_back(line);
  } else if (!r.incremental.empty()) {
    out.notes.push_back("incremental: only " + std::to_string(r.incremental.size()) +
                        " incremental dump(s) measured (need 3): the profile has no incremental costs");
  }

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
      "compute_s: wall time of uninterrupted runs without the checkpoint library, one per order timed; "
      "the curve is fitted on the calibrated orders' runs (see its why)",
      "reboot_s: not measured here; the paper's 100 s node reboot",
      "link_latency_s: not measured; 0.1 ms, a switched gigabit LAN",
  };
  if (r.memory_limit_bytes > 0)
    p.assumptions.push_back(
        "memory-limited (" + fmt("%.0f", r.memory_limit_bytes / 1048576.0) +
        " MiB, cgroup): the compute runs, the job and its dump (core writer included), `ckptsim restart` and the "
        "restored job all run in the group; each row starts with the group's page cache reclaimed, and the "
        "restore reads its image from disk (written back and dropped from the cache first), as on a node that "
        "did not write it; restore_s is the restarter's own phase clock");
  if (r.copy_kind == "loopback")
    p.assumptions.push_back("copy over loopback (no rights for network namespaces): unshaped, faster than a real "
                            "gigabit link; link_bandwidth_Bps is the measured copy rate");

  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows) {
    nlohmann::json j = {{"order", row.order}, {"rep", row.rep}, {"rss_bytes", row.rss_bytes},
                        {"mapped_bytes", row.mapped_bytes}, {"image_bytes", row.image_bytes},
                        {"image_disk_bytes", row.image_disk_bytes}, {"image_files", row.image_files},
                        {"dump_s", row.dump_s}, {"hash_s", row.hash_s}, {"copy_s", row.copy_s},
                        {"restore_s", row.restore_s}, {"restored_from", row.restored_from},
                        {"progressing", row.progressing}, {"output_verified", row.output_verified},
                        {"swapped_pages", row.swapped_pages}, {"suspect", row.suspect}};
    if (r.memory_limit_bytes > 0) {
      j["oom"] = row.oom.empty() ? nlohmann::json(nullptr) : nlohmann::json(row.oom);
      j["dump_peak_bytes"] = row.dump_peak_bytes;
      j["restore_peak_bytes"] = row.restore_peak_bytes;
      j["limit_hits"] = row.limit_hits;
    }
    rows.push_back(j);
  }
  nlohmann::json compute = nlohmann::json::array();
  size_t ci = 0;
  for (const auto& c : r.compute) {
    nlohmann::json j = {{"order", c.order}, {"seconds", c.seconds}};
    if (c.oom) j["oom"] = true;
    else {
      j["fitted"] = static_cast<bool>(cfit.fitted[ci]);
      j["residual_s"] = cfit.residual_s[ci];
      j["residual_pct"] = cfit.residual_pct[ci];
      ++ci;
    }
    if (r.memory_limit_bytes > 0) j["peak_bytes"] = c.peak_bytes;
    compute.push_back(j);
  }
  nlohmann::json loo = nlohmann::json::array();
  for (size_t i = 0; i < cfit.loo_order.size(); ++i)
    loo.push_back({{"order", cfit.loo_order[i]}, {"error_pct", cfit.loo_pct[i]}});
  {
    std::string note = fmt("compute: %.0f of %.0f runs fitted", static_cast<double>(fc.residuals.size()),
                           static_cast<double>(cn.size()));
    note += fmt(", residuals within %.1f %%", cfit.worst_residual_pct);
    if (!cfit.loo_order.empty())
      note += fmt("; an order left out of the fit is predicted within %.1f %% (worst: order %.0f)",
                  std::fabs(cfit.worst_loo_pct), cfit.worst_loo_order);
    for (size_t i = 0; i < cn.size(); ++i)
      if (!cfit.fitted[i]) {
        note += fmt("; outside the range, order %.0f is off by %.0f %%", cn[i], cfit.residual_pct[i]);
        break;
      }
    out.notes.insert(out.notes.begin(), note);
  }
  p.measurements = rows;
  out.fit_details = {{"compute_s", details(fc, cn, cs)},     {"process_bytes", details(fp, order, rss)},
                     {"image_bytes", details(fi, rss, image)}, {"dump_s", details(fd, image, dump)},
                     {"copy_s", details(fcopy, image, copy)},  {"restore_s", details(fr, image, restore)},
                     {"compute_runs", compute},                {"skipped_sizes", r.skipped_sizes},
                     {"compute_leave_one_out", loo},           {"warnings", r.warnings}};
  if (!memory_details.is_null()) out.fit_details["memory"] = memory_details;
  if (!r.incremental.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& i : r.incremental)
      rows.push_back({{"order", i.order}, {"process_bytes", i.process_bytes}, {"written_bytes", i.written_bytes},
                      {"full_bytes", i.full_bytes}, {"since_s", i.since_s}, {"dump_s", i.dump_s},
                      {"stopped_s", i.stopped_s}});
    out.fit_details["incremental"] = rows;
  }

  for (const auto& [label, f] : std::vector<std::pair<std::string, const models::FitResult*>>{
           {"dump", &fd}, {"copy", &fcopy}, {"restore", &fr}, {"compute", &fc}, {"image size", &fi}})
    if (f->curve.r2 < kPoorR2)
      out.warnings.push_back(label + " fit is poor (R2 " + fmt("%.3f", f->curve.r2) +
                             "): the points scatter; more repetitions or a quieter machine would help");
  if (oom_rows)
    out.warnings.push_back(std::to_string(oom_rows) + " row(s) OOM-killed under the memory limit (see 'oom' in the "
                           "measurements); not fitted");
  for (const auto& row : r.rows)
    if (row.suspect) {
      out.warnings.push_back("some rows were swapping or not resident (see 'suspect' in the measurements)");
      break;
    }
  return out;
}

}  // namespace ckptsim::calib
