// Reading a sweep's results: the best interval per order, the theory beside it,
// the best order overall, and the table/CSV/JSON renderings. Everything here is
// a pure function of the plan and the results, so the same results always print
// the same bytes, however they were computed.
#include <cmath>
#include <cstdio>
#include <limits>
#include <ostream>
#include <string>

#include "sim/sweep.h"
#include "util/format.h"

namespace ckptsim::sim {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A point that did not run (partial sweep) has NaN results: shown as "-".
std::string fmt(const char* f, double v) { return std::isfinite(v) ? util::format(f, v) : "-"; }

IntervalOutcome outcome(const SweepResult& r, const SweepPoint& p) {
  IntervalOutcome o{p.interval_s, kNaN, kNaN};
  if (auto it = r.results.find(p.index); it != r.results.end()) {
    o.mean_turnaround_s = it->second.mean_turnaround_s;
    o.ci95_s = it->second.ci95_s;
  }
  return o;
}

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

// ", shared file system 800 MB/s" for plans that have one, else nothing.
std::string describe_plan_storage(const nlohmann::json& o) {
  if (!o.contains("shared_storage")) return "";
  Storage st;
  st.shared = true;
  st.total_Bps = o.at("shared_storage").at("total_Bps").get<double>();
  st.client_Bps = o.at("shared_storage").at("client_Bps").get<double>();
  return describe_storage(st) + ", ";
}

// ", requeue delay 30 s" for plans with one, else nothing.
std::string describe_plan_requeue(const nlohmann::json& o) {
  const double d = o.value("requeue_delay_s", 0.0);
  return d > 0 ? "requeue delay " + fmt("%g", d) + " s, " : "";
}

std::string describe_failures(const nlohmann::json& o) {
  const auto& f = o.at("failures");
  if (f.at("model") == "per-job") return "each job killed with probability " + fmt("%g", f.at("p").get<double>());
  std::string s = "node MTBF " + fmt("%g", f.at("mtbf_s").get<double>()) + " s";
  const double k = f.at("weibull_shape").get<double>();
  return s + (k == 1 ? " (exponential)" : " (Weibull shape " + fmt("%g", k) + ")");
}

}  // namespace

double overhead_pct(double turnaround_s, double baseline_s) {
  if (!(baseline_s > 0)) return kNaN;
  return (turnaround_s - baseline_s) / baseline_s * 100;
}

SweepSummary summarise(const SweepResult& r) {
  SweepSummary s;
  double best_overhead = std::numeric_limits<double>::infinity();
  for (const auto& t : r.plan.theory) {
    OrderSummary o;
    o.order = t.order;
    o.theory = t;
    o.baseline_s = kNaN;
    o.best = {kNaN, kNaN, kNaN};
    o.young = {t.young_s, kNaN, kNaN};
    o.daly = {t.daly_s, kNaN, kNaN};
    o.single = {0, kNaN, kNaN};
    for (const auto& p : r.plan.points) {
      if (p.order != t.order) continue;
      const auto oc = outcome(r, p);
      switch (p.kind) {
        case PointKind::Baseline: o.baseline_s = oc.mean_turnaround_s; break;
        case PointKind::Young: o.young = oc; break;
        case PointKind::Daly: o.daly = oc; break;
        case PointKind::Single: o.single = oc; break;
        case PointKind::Grid:
          // Strictly lower wins: ties keep the shorter interval listed first.
          if (std::isfinite(oc.mean_turnaround_s) && (!o.found || oc.mean_turnaround_s < o.best.mean_turnaround_s)) {
            o.best = oc;
            o.found = true;
          }
          break;
      }
    }
    o.best_overhead_pct = o.found ? overhead_pct(o.best.mean_turnaround_s, o.baseline_s) : kNaN;
    o.single_overhead_pct = overhead_pct(o.single.mean_turnaround_s, o.baseline_s);
    if (std::isfinite(o.best_overhead_pct) && o.best_overhead_pct < best_overhead) {
      best_overhead = o.best_overhead_pct;
      s.best_order = o.order;
      s.best_interval_s = o.best.interval_s;
    }
    s.orders.push_back(o);
  }
  const Case c = parse_case(r.plan.options.at("case").get<std::string>());
  std::vector<OrderOverhead> periodic, single;
  for (const auto& o : s.orders) {
    periodic.push_back({o.order, o.best_overhead_pct, o.baseline_s > 0 ? 100 * o.best.ci95_s / o.baseline_s : kNaN});
    single.push_back({o.order, o.single_overhead_pct, o.baseline_s > 0 ? 100 * o.single.ci95_s / o.baseline_s : kNaN});
  }
  s.ideal_periodic = lowest_overhead(c, periodic);
  s.ideal_single = lowest_overhead(c, single);
  return s;
}

void write_csv(std::ostream& out, const SweepResult& r) {
  out << "order,interval_s,mean_turnaround_s,ci95_s,overhead_pct\n";
  const auto summary = summarise(r);
  for (const auto& p : r.plan.points) {
    if (p.kind != PointKind::Grid) continue;
    const auto oc = outcome(r, p);
    if (!std::isfinite(oc.mean_turnaround_s)) continue;
    double baseline = kNaN;
    for (const auto& o : summary.orders)
      if (o.order == p.order) baseline = o.baseline_s;
    out << p.order << ',' << fmt("%.6g", p.interval_s) << ',' << fmt("%.3f", oc.mean_turnaround_s) << ','
        << fmt("%.3f", oc.ci95_s) << ',' << fmt("%.3f", overhead_pct(oc.mean_turnaround_s, baseline)) << '\n';
  }
}

void write_table(std::ostream& out, const SweepResult& r) {
  const auto& o = r.plan.options;
  const auto s = summarise(r);
  std::string placement;  // case V's, in plans that have one
  if (o.contains("v_placement")) {
    placement = " (" + o.at("v_placement").get<std::string>();
    const int spares = o.value("spares", 0);
    if (spares > 0) placement += ", " + std::to_string(spares) + (spares == 1 ? " spare" : " spares");
    placement += ")";
  }
  out << "Sweep " << r.plan.hash << ": case " << o.at("case").get<std::string>() << placement << ", "
      << describe_failures(o) << ", " << describe_plan_storage(o) << describe_plan_requeue(o)
      << o.at("nodes").get<int>() << " nodes x " << o.at("jobs_per_node").get<int>() << " jobs, "
      << o.at("replications").get<int>() << " replications, seed " << o.at("seed").get<uint64_t>();
  const std::string label = o.value("profile_label", "");
  if (!label.empty()) out << ", profile " << label;
  if (o.contains("dumps")) out << ", dumps " << o.at("dumps").get<std::string>();
  out << (r.partial ? "  [PARTIAL: interrupted]" : "") << "\n";
  char line[512];
  std::snprintf(line, sizeof line, "%6s %10s %12s %8s %9s | %9s %12s | %9s %12s | %10s\n", "order", "best_s",
                "turnaround_s", "ci95_s", "overhead%", "young_s", "at_young_s", "daly_s", "at_daly_s", "formula_s");
  out << line;
  for (const auto& x : s.orders) {
    std::snprintf(line, sizeof line, "%6d %10s %12s %8s %9s | %9s %12s | %9s %12s | %10s\n", x.order,
                  fmt("%.1f", x.best.interval_s).c_str(), fmt("%.2f", x.best.mean_turnaround_s).c_str(),
                  fmt("%.2f", x.best.ci95_s).c_str(), fmt("%.2f", x.best_overhead_pct).c_str(),
                  fmt("%.1f", x.young.interval_s).c_str(), fmt("%.2f", x.young.mean_turnaround_s).c_str(),
                  fmt("%.1f", x.daly.interval_s).c_str(), fmt("%.2f", x.daly.mean_turnaround_s).c_str(),
                  fmt("%.1f", x.theory.optimum_s).c_str());
    out << line;
  }
  if (s.best_order == 0) {
    out << "best: none (no point finished)\n";
    return;
  }
  for (const auto& x : s.orders) {
    if (x.order != s.best_order) continue;
    out << "best: order " << x.order << ", checkpoint every " << fmt("%.1f", x.best.interval_s) << " s of compute"
        << " (turnaround " << fmt("%.2f", x.best.mean_turnaround_s) << " s +/- " << fmt("%.2f", x.best.ci95_s)
        << ", overhead " << fmt("%.2f", x.best_overhead_pct) << " % over the failure-free "
        << fmt("%.2f", x.baseline_s) << " s)" << (r.partial ? " [partial]" : "") << "\n";
    // The formulas assume a dump costs the same whoever else is dumping.
    if (o.contains("shared_storage") && x.theory.optimum_s > 0)
      out << "under contention for the shared file system the best interval is "
          << fmt("%.2f", x.best.interval_s / x.theory.optimum_s) << "x the contention-free formula's "
          << fmt("%.1f", x.theory.optimum_s) << " s\n";
  }
  if (s.ideal_periodic.order != 0) out << format_ideal(s.ideal_periodic, "best periodic interval per order") << "\n";
  if (s.ideal_single.order != 0) out << format_ideal(s.ideal_single, "one checkpoint per job") << "\n";
}

void write_json(std::ostream& out, const SweepResult& r) {
  const auto s = summarise(r);
  nlohmann::json points = nlohmann::json::array(), orders = nlohmann::json::array();
  for (const auto& p : r.plan.points) {
    const auto oc = outcome(r, p);
    double baseline = kNaN;
    for (const auto& o : s.orders)
      if (o.order == p.order) baseline = o.baseline_s;
    points.push_back({{"order", p.order},
                      {"kind", to_string(p.kind)},
                      {"interval_s", p.kind == PointKind::Baseline ? nlohmann::json(nullptr) : num(p.interval_s)},
                      {"mean_turnaround_s", num(oc.mean_turnaround_s)},
                      {"ci95_s", num(oc.ci95_s)},
                      {"overhead_pct", num(overhead_pct(oc.mean_turnaround_s, baseline))}});
  }
  for (const auto& x : s.orders) {
    const auto io = [](const IntervalOutcome& v) {
      return nlohmann::json{{"interval_s", num(v.interval_s)}, {"mean_turnaround_s", num(v.mean_turnaround_s)},
                            {"ci95_s", num(v.ci95_s)}};
    };
    orders.push_back({{"order", x.order},
                      {"baseline_s", num(x.baseline_s)},
                      {"best", io(x.best)},
                      {"best_overhead_pct", num(x.best_overhead_pct)},
                      {"young", io(x.young)},
                      {"daly", io(x.daly)},
                      {"single", io(x.single)},
                      {"single_overhead_pct", num(x.single_overhead_pct)},
                      {"theory",
                       {{"W", x.theory.W}, {"C", x.theory.C}, {"R", x.theory.R}, {"D", x.theory.D}, {"M", x.theory.M},
                        {"formula", x.theory.formula}, {"optimum_s", x.theory.optimum_s}, {"optimum_expected_s", x.theory.optimum_expected_s}}}});
  }
  nlohmann::json best = nullptr;
  if (s.best_order != 0) best = {{"order", s.best_order}, {"interval_s", s.best_interval_s}};
  const auto ideal = [](const IdealOrder& i) {
    return i.order == 0 ? nlohmann::json(nullptr)
                        : nlohmann::json{{"order", i.order}, {"overhead_pct", num(i.overhead_pct)},
                                         {"ci95_pct", num(i.ci95_pct)}, {"interior", i.interior},
                                         {"orders_within_ci", i.overlapping}};
  };
  nlohmann::json j = {{"sweep", r.plan.hash},
                      {"options", r.plan.options},
                      {"partial", r.partial},
                      {"points", points},
                      {"orders", orders},
                      {"best", best},
                      {"ideal_order", {{"periodic", ideal(s.ideal_periodic)}, {"single", ideal(s.ideal_single)}}}};
  out << j.dump(2) << "\n";
}

void write_result(std::ostream& out, const SweepResult& r, Format f) {
  switch (f) {
    case Format::Table: write_table(out, r); break;
    case Format::Csv: write_csv(out, r); break;
    case Format::Json: write_json(out, r); break;
  }
}

}  // namespace ckptsim::sim
