// build_profile: a calibration's measurements -> a profile, in phases:
// collect the samples that have costs, fit the cost curves, bend the dump and
// restore curves at a memory knee if a limit shows one, fit the incremental
// dumps, describe the link and the assumptions, then keep every measurement
// and fit detail beside the curves and say what looks doubtful.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "calib/fit.h"
#include "util/format.h"

namespace ckptsim::calib {
namespace {

constexpr double kPoorR2 = 0.9;

nlohmann::json details(const models::FitResult& f, const std::vector<double>& x, const std::vector<double>& y) {
  return {{"powers", f.curve.powers}, {"coef", f.curve.coef}, {"r2", f.curve.r2}, {"why", f.curve.why},
          {"x", x}, {"y", y}, {"residuals", f.residuals}};
}

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
    m.note = util::format("memory: knee found under the %.0f MiB limit: usable %.1f MiB of process + image, past it %.2f MB/s",
                          limit / 1048576.0, m.knee.memory.usable_bytes() / 1048576.0, m.knee.memory.swap_Bps / 1e6);
  else
    m.note = util::format("memory: no knee found under the %.0f MiB limit (process + image up to %.1f MiB measured; a knee "
                          "did not halve the dump fit's residuals)",
                          limit / 1048576.0, most / 1048576.0);
  return m;
}

// What the fits read: rows and compute runs that have costs (the OOM killer's
// are reported, never fitted).
struct Samples {
  std::vector<const MeasureRow*> measured;
  int oom_rows = 0;
  std::vector<double> order, rss, image, dump, copy, restore;
  std::vector<double> cn, cs;  // compute runs: order, seconds
};

Samples collect_samples(const CalibrationResult& r) {
  Samples s;
  std::set<int> orders;
  for (const auto& row : r.rows)
    if (row.ok()) s.measured.push_back(&row), orders.insert(row.order);
    else ++s.oom_rows;
  std::set<int> compute_orders;
  for (const auto& c : r.compute)
    if (!c.oom) compute_orders.insert(c.order);
  if (orders.size() < 2)
    throw std::runtime_error("too few measurements to fit (" + std::to_string(s.measured.size()) + " rows over " +
                             std::to_string(orders.size()) + " size(s); need two sizes" +
                             (s.oom_rows ? "; " + std::to_string(s.oom_rows) + " row(s) OOM-killed under the limit" : "") +
                             ")");
  if (compute_orders.size() < 3)
    throw std::runtime_error("too few compute-rate runs to fit a*n^3 + b*n^2 + c (need three orders)");
  for (const MeasureRow* row : s.measured) {
    s.order.push_back(row->order);
    s.rss.push_back(static_cast<double>(row->rss_bytes));
    s.image.push_back(static_cast<double>(row->image_bytes));
    s.dump.push_back(row->dump_s);
    s.copy.push_back(row->copy_s);
    s.restore.push_back(row->restore_s);
  }
  for (const auto& c : r.compute)
    if (!c.oom) {
      s.cn.push_back(c.order);
      s.cs.push_back(c.seconds);
    }
  return s;
}

struct CurveFits {
  ComputeFit compute;
  models::FitResult process, image, dump, copy, restore;
};

CurveFits fit_curves(const CalibrationResult& r, const Samples& s) {
  const double lo = r.calibrated_orders.empty() ? 0 : r.calibrated_orders.front();
  const double hi = r.calibrated_orders.empty() ? 0 : r.calibrated_orders.back();
  CurveFits f;
  f.compute = fit_compute_runs(s.cn, s.cs, lo, hi);
  f.process = models::fit_powers(s.order, s.rss, {0, 2});
  f.process.curve.x_unit = "order";
  f.process.curve.y_unit = "bytes";
  f.process.curve.why = "c + b*n^2: three n x n float matrices (12 bytes per element) plus the program";
  f.image = fit_cost(s.rss, s.image, "bytes", "bytes");
  f.dump = fit_cost(s.image, s.dump, "bytes", "s");
  f.copy = fit_cost(s.image, s.copy, "bytes", "s");
  f.restore = fit_cost(s.image, s.restore, "bytes", "s");
  return f;
}

void describe_machine(models::Profile& p, const CalibrationResult& r) {
  p.machine = r.machine;
  p.machine["disk_write_Bps"] = r.disk_write_Bps;
  p.machine["disk_read_Bps"] = r.disk_read_Bps;
  p.machine["calibration_s"] = r.elapsed_s;
  p.machine["interrupted"] = r.interrupted;
}

// Under a memory limit: the node's RAM, and the knee if the dumps show one.
// Returns the knee fit's details for the profile's fits (null without a limit).
nlohmann::json apply_memory_limit(FittedProfile& out, CurveFits& f, const CalibrationResult& r, const Samples& s) {
  models::Profile& p = out.profile;
  const MemoryFit mf = fit_memory(r, s.measured);
  if (r.memory_limit_bytes == 0) return nullptr;
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
    f.dump.curve = p.dump_s;
    f.dump.residuals = mf.knee.residuals;
    // The model adds the same term to the restore (process + image again):
    // its curve is what remains once that term is taken out, or it would be
    // counted twice.
    std::vector<double> below;
    for (size_t i = 0; i < s.restore.size(); ++i) below.push_back(s.restore[i] - p.memory.excess_s(mf.need[i]));
    f.restore = fit_cost(s.image, below, "bytes", "s");
    f.restore.curve.why += "; fitted to restore_s minus the memory term";
    p.restore_s = f.restore.curve;
  }
  p.memory.why = "ram_bytes: calibrate --memory-limit (a cgroup v" + std::to_string(r.cgroup_version) +
                 " memory limit on this machine); " +
                 (mf.tried && mf.knee.knee ? std::string("reserved_bytes and swap_Bps fitted with the dump rate "
                                                         "(fit_memory_knee)")
                                           : std::string("no knee in the measured range, so no memory term"));
  out.notes.push_back(mf.note);
  return {{"limit_bytes", r.memory_limit_bytes}, {"knee", mf.tried && mf.knee.knee},
          {"image", mf.image}, {"need", mf.need}, {"dump_s", mf.dump},
          {"residuals", mf.tried ? mf.knee.residuals : std::vector<double>{}},
          {"sse", mf.knee.sse}, {"sse_linear", mf.knee.sse_linear}, {"note", mf.note}};
}

// Forked incremental dumps (run --incremental, forked by default): the stop
// and the write, each fitted as the in-process cost is. Only on top of an
// in-process fit (the dirty rate is that fit's), and 3 dumps at least.
void fit_forked_incremental_dumps(FittedProfile& out, const CalibrationResult& r) {
  models::Profile& p = out.profile;
  const auto& rows = r.forked_incremental;
  if (rows.empty()) return;
  if (!p.incremental.known() || rows.size() < 3) {
    out.notes.push_back("forked incremental: " + std::to_string(rows.size()) + " dump(s) measured" +
                        (p.incremental.known() ? " (need 3)" : " and no in-process incremental fit") +
                        ": the model's incremental dumps are in-process ones");
    return;
  }
  std::vector<models::IncrementalDump> stops, writes;
  for (const auto& i : rows) {
    stops.push_back({double(i.order), double(i.process_bytes), double(i.written_bytes), i.since_s, i.stopped_s});
    writes.push_back({double(i.order), double(i.process_bytes), double(i.written_bytes), i.since_s, i.dump_s});
  }
  auto& f = p.incremental.forked;
  f.stop = models::fit_incremental_cost(stops);
  f.write = models::fit_incremental_cost(writes);
  f.dumps = static_cast<int>(rows.size());
  f.why = "incremental dumps of a computing job under CKPT_FORK=1: stop the job's own stopped_ns, write signal -> "
          "image complete; each fixed + per written byte + per process byte";
  const auto& last = rows.back();
  const double process = double(last.process_bytes), written = double(last.written_bytes);
  out.notes.push_back(util::format(
      "forked incremental: at %.0f MiB, writing %.1f MiB, the job is stopped %.4f s (in-process incremental %.4f s, "
      "%.3fx); the fork writes %.3f s (R^2 %.2f / %.2f, %zu dumps)",
      process / 1048576.0, written / 1048576.0, f.stop(process, written), p.incremental.stop(process, written),
      f.stop(process, written) / std::max(1e-9, p.incremental.stop(process, written)), f.write(process, written), f.stop.r2,
      f.write.r2, rows.size()));
}

// Incremental dumps (run --incremental): the dirty rate and the cost fit.
void fit_incremental_dumps(FittedProfile& out, const CalibrationResult& r) {
  models::Profile& p = out.profile;
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
                  p.incremental.stop.fixed_s, p.incremental.stop.s_per_written_byte * 1e9,
                  p.incremental.stop.s_per_process_byte * 1e9, p.incremental.stop.r2, r.incremental.size());
    out.notes.push_back(line);
  } else if (!r.incremental.empty()) {
    out.notes.push_back("incremental: only " + std::to_string(r.incremental.size()) +
                        " incremental dump(s) measured (need 3): the profile has no incremental costs");
  }
  fit_forked_incremental_dumps(out, r);
}

// Forked dumps (run's default): the stop against the process (the fork copies
// its page tables), the fork's write against the image, each fitted as the
// in-process curves are. Two orders at least, or the profile has none.
nlohmann::json fit_forked_dumps(FittedProfile& out, const CalibrationResult& r) {
  models::Profile& p = out.profile;
  std::set<int> orders;
  std::vector<double> process, image, stop, write;
  for (const auto& f : r.forked) {
    orders.insert(f.order);
    process.push_back(double(f.process_bytes));
    image.push_back(double(f.image_bytes));
    stop.push_back(f.stop_s);
    write.push_back(f.write_s);
  }
  if (orders.size() < 2) {
    if (!r.forked.empty())
      out.notes.push_back("forked: " + std::to_string(orders.size()) +
                          " order measured (need 2): the profile has no forked dump costs, the model uses in-process dumps");
    return nullptr;
  }
  const models::FitResult fstop = fit_cost(process, stop, "bytes", "s");
  const models::FitResult fwrite = fit_cost(image, write, "bytes", "s");
  p.forked.stop_s = fstop.curve;
  p.forked.write_s = fwrite.curve;
  p.forked.why = "one forked dump (CKPT_FORK=1) per order of a job whose matrices are ready: stop_s the job's own "
                 "stopped_ns, write_s signal -> image complete";
  const double big = process.back();
  out.notes.push_back(util::format("forked: at %.0f MiB the job is stopped %.4f s (in-process %.4f s, %.3fx); the fork "
                                   "writes %.3f s (R^2 %.2f / %.2f, %zu dumps)",
                                   big / 1048576.0, p.forked.stop_s(big), p.dump_s(p.image_bytes(big)),
                                   p.forked.stop_s(big) / p.dump_s(p.image_bytes(big)), p.forked.write_s(p.image_bytes(big)),
                                   fstop.curve.r2, fwrite.curve.r2, r.forked.size()));
  return {{"stop_s", details(fstop, process, stop)}, {"write_s", details(fwrite, image, write)}};
}

void describe_link_and_assumptions(models::Profile& p, const CalibrationResult& r) {
  p.link_bandwidth_Bps = r.nominal_link_Bps > 0 ? r.nominal_link_Bps : 0;
  if (p.link_bandwidth_Bps == 0) {
    // Unshaped link: its effective rate is the copy curve's slope.
    double slope = p.copy_s.coef.back();
    p.link_bandwidth_Bps = slope > 0 ? 1.0 / slope : 125e6;
  }
  p.link_latency_s = 1e-4;
  p.disk_write_Bps = r.disk_write_Bps;
  p.disk_read_Bps = r.disk_read_Bps;
  p.shared_storage = r.shared;
  p.reboot_s = 100;
  p.assumptions = {
      "dump_s: signal sent -> image complete and renamed into place (every file fsynced); the job is stopped "
      "meanwhile",
      "copy_s: image sent over TCP to `ckptsim receive` (" + r.copy_kind +
          (r.copy_kind == "netns" ? ", veth shaped to 1 Gbit/s with tc tbf" : "") +
          "), from connect to the receiver confirming every XXH3 checksum; not fsynced on the receiving side",
      "restore_s: restart::restore_process (full verification included) from call to the job running again",
      "forked: one forked dump per order (CKPT_FORK=1, run's default): stop_s is what the job was stopped "
      "(its manifest's stopped_ns), write_s the signal to the image complete, the job computing meanwhile",
      "compute_s: wall time of uninterrupted runs without the checkpoint library, one per order timed; "
      "the curve is fitted on the calibrated orders' runs (see its why)",
      "reboot_s: not measured here; the paper's 100 s node reboot",
      "link_latency_s: not measured; 0.1 ms, a switched gigabit LAN",
  };
  if (r.memory_limit_bytes > 0)
    p.assumptions.push_back(
        "memory-limited (" + util::format("%.0f", r.memory_limit_bytes / 1048576.0) +
        " MiB, cgroup): the compute runs, the job and its dump (core writer included), `ckptsim restart` and the "
        "restored job all run in the group; each row starts with the group's page cache reclaimed, and the "
        "restore reads its image from disk (written back and dropped from the cache first), as on a node that "
        "did not write it; restore_s is the restarter's own phase clock");
  if (r.copy_kind == "loopback")
    p.assumptions.push_back("copy over loopback (no rights for network namespaces): unshaped, faster than a real "
                            "gigabit link; link_bandwidth_Bps is the measured copy rate");
}

nlohmann::json measurement_rows(const CalibrationResult& r) {
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
  return rows;
}

nlohmann::json compute_runs(const CalibrationResult& r, const ComputeFit& cfit) {
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
  return compute;
}

std::string compute_note(const ComputeFit& cfit, const Samples& s) {
  std::string note = util::format("compute: %.0f of %.0f runs fitted", static_cast<double>(cfit.fit.residuals.size()),
                                  static_cast<double>(s.cn.size()));
  note += util::format(", residuals within %.1f %%", cfit.worst_residual_pct);
  if (!cfit.loo_order.empty())
    note += util::format("; an order left out of the fit is predicted within %.1f %% (worst: order %d)",
                         std::fabs(cfit.worst_loo_pct), cfit.worst_loo_order);
  for (size_t i = 0; i < s.cn.size(); ++i)
    if (!cfit.fitted[i]) {
      note += util::format("; outside the range, order %.0f is off by %.0f %%", s.cn[i], cfit.residual_pct[i]);
      break;
    }
  return note;
}

nlohmann::json fit_details(const CalibrationResult& r, const CurveFits& f, const Samples& s,
                           const nlohmann::json& memory) {
  nlohmann::json loo = nlohmann::json::array();
  for (size_t i = 0; i < f.compute.loo_order.size(); ++i)
    loo.push_back({{"order", f.compute.loo_order[i]}, {"error_pct", f.compute.loo_pct[i]}});
  nlohmann::json d = {{"compute_s", details(f.compute.fit, s.cn, s.cs)},  {"process_bytes", details(f.process, s.order, s.rss)},
                      {"image_bytes", details(f.image, s.rss, s.image)},  {"dump_s", details(f.dump, s.image, s.dump)},
                      {"copy_s", details(f.copy, s.image, s.copy)},       {"restore_s", details(f.restore, s.image, s.restore)},
                      {"compute_runs", compute_runs(r, f.compute)},       {"skipped_sizes", r.skipped_sizes},
                      {"compute_leave_one_out", loo},                     {"warnings", r.warnings}};
  if (!memory.is_null()) d["memory"] = memory;
  if (!r.incremental.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& i : r.incremental)
      rows.push_back({{"order", i.order}, {"process_bytes", i.process_bytes}, {"written_bytes", i.written_bytes},
                      {"full_bytes", i.full_bytes}, {"since_s", i.since_s}, {"dump_s", i.dump_s},
                      {"stopped_s", i.stopped_s}});
    d["incremental"] = rows;
  }
  if (!r.forked_incremental.empty()) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& i : r.forked_incremental)
      rows.push_back({{"order", i.order}, {"process_bytes", i.process_bytes}, {"written_bytes", i.written_bytes},
                      {"since_s", i.since_s}, {"stop_s", i.stopped_s}, {"write_s", i.dump_s}});
    d["forked_incremental"] = rows;
  }
  return d;
}

void add_warnings(FittedProfile& out, const CurveFits& f, const CalibrationResult& r, int oom_rows) {
  for (const auto& [label, fit] : std::vector<std::pair<std::string, const models::FitResult*>>{
           {"dump", &f.dump}, {"copy", &f.copy}, {"restore", &f.restore}, {"compute", &f.compute.fit}, {"image size", &f.image}})
    if (fit->curve.r2 < kPoorR2)
      out.warnings.push_back(label + " fit is poor (R2 " + util::format("%.3f", fit->curve.r2) +
                             "): the points scatter; more repetitions or a quieter machine would help");
  if (oom_rows)
    out.warnings.push_back(std::to_string(oom_rows) + " row(s) OOM-killed under the memory limit (see 'oom' in the "
                           "measurements); not fitted");
  for (const auto& row : r.rows)
    if (row.suspect) {
      out.warnings.push_back("some rows were swapping or not resident (see 'suspect' in the measurements)");
      break;
    }
}

}  // namespace

FittedProfile build_profile(const CalibrationResult& r, const std::string& name) {
  FittedProfile out;
  const Samples s = collect_samples(r);
  models::Profile& p = out.profile;
  p.name = name;
  p.source = "calibrate";
  describe_machine(p, r);
  CurveFits f = fit_curves(r, s);
  p.compute_s = f.compute.fit.curve;
  p.process_bytes = f.process.curve;
  p.image_bytes = f.image.curve;
  p.dump_s = f.dump.curve;
  p.copy_s = f.copy.curve;
  p.restore_s = f.restore.curve;
  const nlohmann::json memory = apply_memory_limit(out, f, r, s);
  fit_incremental_dumps(out, r);
  const nlohmann::json forked = fit_forked_dumps(out, r);
  describe_link_and_assumptions(p, r);
  out.notes.insert(out.notes.begin(), compute_note(f.compute, s));
  p.measurements = measurement_rows(r);
  out.fit_details = fit_details(r, f, s, memory);
  if (!forked.is_null()) out.fit_details["forked"] = forked;
  add_warnings(out, f, r, s.oom_rows);
  return out;
}

}  // namespace ckptsim::calib
