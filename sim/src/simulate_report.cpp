#include "sim/simulate_report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "gnuplot.h"
#include "util/format.h"

namespace ckptsim::sim {
namespace {

std::vector<int> orders_of(const std::vector<SimulationRow>& rows) {
  std::vector<int> orders;
  for (const auto& r : rows)
    if (orders.empty() || orders.back() != r.cell.order) orders.push_back(r.cell.order);
  return orders;
}

std::vector<Case> cases_of(const std::vector<SimulationRow>& rows) {
  std::vector<Case> cases;
  for (Case c : all_cases())
    for (const auto& r : rows)
      if (r.cell.c == c) {
        cases.push_back(c);
        break;
      }
  return cases;
}

const SimulationRow* find(const std::vector<SimulationRow>& rows, int order, Case c) {
  for (const auto& r : rows)
    if (r.cell.order == order && r.cell.c == c) return &r;
  return nullptr;
}

// One colour per case, the same in both panels (no pale yellow on white).
const char* colour(Case c) {
  switch (c) {
    case Case::I: return "#000000";
    case Case::II: return "#1b9e77";
    case Case::III: return "#1f78b4";
    case Case::IIIp: return "#e66101";
    case Case::IV: return "#7b3294";
    case Case::V: return "#d7191c";
  }
  return "#808080";
}

std::string pad(const std::string& s, size_t width) { return s.size() >= width ? s : std::string(width - s.size(), ' ') + s; }

}  // namespace

std::vector<SimulationRow> with_overheads(const std::vector<CellResult>& cells, const std::vector<Case>& shown) {
  std::map<int, double> case1;
  for (const auto& c : cells)
    if (c.c == Case::I) case1[c.order] = c.mean_turnaround_s;
  std::vector<SimulationRow> rows;
  for (const auto& c : cells) {
    bool wanted = false;
    for (Case s : shown) wanted = wanted || s == c.c;
    if (!wanted) continue;
    auto it = case1.find(c.order);
    if (it == case1.end()) throw SimError("no case I result for order " + std::to_string(c.order));
    rows.push_back({c, 100.0 * (c.mean_turnaround_s - it->second) / it->second});
  }
  return rows;
}

IdealOrder lowest_overhead(Case c, const std::vector<OrderOverhead>& points) {
  IdealOrder best;
  best.c = c;
  bool found = false;
  for (const auto& p : points) {
    if (!found || p.order < best.smallest) best.smallest = p.order;
    if (!found || p.order > best.largest) best.largest = p.order;
    found = true;
    if (std::isfinite(p.overhead_pct) && (best.order == 0 || p.overhead_pct < best.overhead_pct)) {
      best.order = p.order;
      best.overhead_pct = p.overhead_pct;
      best.ci95_pct = p.ci95_pct;
    }
  }
  best.interior = best.order != 0 && best.order != best.smallest && best.order != best.largest;
  for (const auto& p : points)
    if (best.order != 0 && p.order != best.order && std::isfinite(p.overhead_pct) &&
        p.overhead_pct - p.ci95_pct <= best.overhead_pct + best.ci95_pct)
      ++best.overlapping;
  return best;
}

std::vector<IdealOrder> ideal_orders(const std::vector<SimulationRow>& rows) {
  std::vector<IdealOrder> out;
  if (orders_of(rows).size() < 2) return out;
  for (Case c : cases_of(rows)) {
    if (c == Case::I) continue;
    std::vector<OrderOverhead> points;
    for (const auto& r : rows) {
      if (r.cell.c != c) continue;
      // case I's turnaround = mean / (1 + overhead); the CI in points of it.
      const double base = r.cell.mean_turnaround_s / (1 + r.overhead_pct / 100);
      points.push_back({r.cell.order, r.overhead_pct, base > 0 ? 100 * r.cell.ci95_s / base : 0});
    }
    const IdealOrder best = lowest_overhead(c, points);
    if (best.order != 0) out.push_back(best);
  }
  return out;
}

std::string format_ideal(const IdealOrder& ideal, const std::string& policy) {
  const bool checkpoints = takes_checkpoints(ideal.c);
  std::string s = "ideal order, case " + to_string(ideal.c) + (policy.empty() || !checkpoints ? "" : " (" + policy + ")") + ": " +
                  std::to_string(ideal.order) + ", overhead " + util::format("%.2f", ideal.overhead_pct) + " % +- " +
                  util::format("%.2f", ideal.ci95_pct) + " (lowest of " + std::to_string(ideal.smallest) + ".." +
                  std::to_string(ideal.largest) + ": ";
  const std::string overlap =
      ideal.overlapping ? "; " + std::to_string(ideal.overlapping) + " other order(s) within the 95 % CIs, not told apart" : "";
  if (ideal.interior) return s + "the overhead rises again past it" + overlap + ")";
  if (ideal.order == ideal.largest)
    return s + "the largest order simulated; the overhead still falls there, no ideal size below it" + overlap + ")";
  return s + "the smallest order simulated; the overhead grows with size" + overlap + ")";
}

std::string format_table(const std::vector<SimulationRow>& rows, const std::string& title,
                         const std::string& policy) {
  const auto orders = orders_of(rows);
  const auto cases = cases_of(rows);
  std::ostringstream out;
  out << title << "\n\n";
  out << "Average job turnaround (s), mean over replications +- 95 % CI\n";
  out << pad("order", 6);
  for (Case c : cases) out << pad(to_string(c), 18);
  out << "\n";
  for (int n : orders) {
    out << pad(std::to_string(n), 6);
    for (Case c : cases) {
      const auto* r = find(rows, n, c);
      out << pad(r ? util::format("%.2f", r->cell.mean_turnaround_s) + " +-" + util::format("%-6.2f", r->cell.ci95_s) : "-", 18);
    }
    out << "\n";
  }
  out << "\nOverhead against case I (%)\n";
  out << pad("order", 6);
  for (Case c : cases) out << pad(to_string(c), 10);
  out << "\n";
  for (int n : orders) {
    out << pad(std::to_string(n), 6);
    for (Case c : cases) {
      const auto* r = find(rows, n, c);
      out << pad(r ? util::format("%.2f", r->overhead_pct) : "-", 10);
    }
    out << "\n";
  }
  const auto ideals = ideal_orders(rows);
  if (!ideals.empty()) out << "\n";
  for (const auto& i : ideals) out << format_ideal(i, policy) << "\n";
  return out.str();
}

std::string format_csv(const std::vector<SimulationRow>& rows) {
  std::ostringstream out;
  out << "order,case,mean_turnaround_s,ci95_s,overhead_pct\n";
  for (const auto& r : rows)
    out << r.cell.order << ',' << to_string(r.cell.c) << ',' << util::format("%.4f", r.cell.mean_turnaround_s) << ','
        << util::format("%.4f", r.cell.ci95_s) << ',' << util::format("%.4f", r.overhead_pct) << "\n";
  return out.str();
}

namespace {

// A simulated figure to 9 significant digits. Beyond those, the digits are
// the floating-point rounding of the simulated clock, which SimGrid advances
// by one difference per event of the whole cluster: the same model told with
// fewer events (attempt_ahead.h) ends at the same times, to about 1e-15.
double reported(double v) {
  if (!std::isfinite(v) || v == 0) return v;
  return std::strtod(util::format("%.9g", v).c_str(), nullptr);
}

}  // namespace

nlohmann::json to_json(const std::vector<SimulationRow>& rows, const nlohmann::json& parameters) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : rows)
    results.push_back({{"order", r.cell.order},
                       {"case", to_string(r.cell.c)},
                       {"interval_s", reported(r.cell.interval_s)},
                       {"mean_turnaround_s", reported(r.cell.mean_turnaround_s)},
                       {"ci95_s", reported(r.cell.ci95_s)},
                       {"overhead_pct", reported(r.overhead_pct)},
                       {"replications", r.cell.replication_means.size()},
                       {"mean_makespan_s", reported(r.cell.mean_makespan_s)},
                       {"kills", r.cell.kills},
                       {"migrations", r.cell.migrations},
                       {"migration_waits", r.cell.migration_waits},
                       {"migration_wait_s", reported(r.cell.migration_wait_s)}});
  nlohmann::json ideal = nlohmann::json::array();
  for (const auto& i : ideal_orders(rows))
    ideal.push_back({{"case", to_string(i.c)},
                     {"order", i.order},
                     {"overhead_pct", reported(i.overhead_pct)},
                     {"ci95_pct", reported(i.ci95_pct)},
                     {"interior", i.interior},
                     {"orders_within_ci", i.overlapping}});
  return {{"schema", "ckptsim-simulate"}, {"schema_version", 1}, {"parameters", parameters},
          {"results", results},           {"ideal_orders", ideal}};
}

void plot_simulation(const std::vector<SimulationRow>& rows, const std::filesystem::path& out,
                     const std::string& title) {
  namespace fs = std::filesystem;
  const auto orders = orders_of(rows);
  const auto cases = cases_of(rows);
  const util::ScratchDir scratch = make_plot_dir();
  const fs::path& dir = scratch.path();

  // One data block per case: order, mean, ci, overhead.
  const fs::path data = dir / "sim.dat";
  {
    std::ofstream d(data);
    for (Case c : cases) {
      d << "# case " << to_string(c) << "\n";
      for (int n : orders)
        if (const auto* r = find(rows, n, c))
          d << n << ' ' << r->cell.mean_turnaround_s << ' ' << r->cell.ci95_s << ' ' << r->overhead_pct << "\n";
      d << "\n\n";
    }
  }
  const std::string ext = out.extension().string();
  std::string terminal;
  if (ext == ".png")
    terminal = "pngcairo size 1500,620 font 'Sans,11'";
  else if (ext == ".svg")
    terminal = "svg size 1500,620 font 'Sans,11' background '#ffffff'";
  else
    throw SimError("plot " + out.string() + ": use a .png or .svg file name");

  double top_overhead = 0;  // leaves headroom for the key above the curves
  for (const auto& r : rows) top_overhead = std::max(top_overhead, r.overhead_pct);
  std::ostringstream gp;
  gp << "set terminal " << terminal << "\n"
     << "set output " << gnuplot_quoted(out.string()) << "\n"
     << "set multiplot layout 1,2 title " << gnuplot_quoted(title) << "\n"
     << "set grid\nset key top left box opaque\nset xlabel 'matrix order'\n"
     << "set ylabel 'average job turnaround (s)'\nset title 'Turnaround vs order'\n"
     << "plot ";
  for (size_t i = 0; i < cases.size(); ++i)
    gp << (i ? ", " : "") << gnuplot_quoted(data.string()) << " index " << i
       << " using 1:2:3 with yerrorlines lw 2 pt 7 ps 0.7 lc rgb '" << colour(cases[i]) << "' title 'case "
       << to_string(cases[i]) << "'";
  gp << "\nset ylabel 'overhead against case I (%)'\nset title 'Overhead vs order'\n"
     << "set yrange [0:" << top_overhead * 1.35 + 1 << "]\nset key top right box opaque horizontal maxcols 3\nplot ";
  bool first = true;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (cases[i] == Case::I) continue;
    gp << (first ? "" : ", ") << gnuplot_quoted(data.string()) << " index " << i
       << " using 1:4 with linespoints lw 2 pt 7 ps 0.7 lc rgb '" << colour(cases[i]) << "' title 'case "
       << to_string(cases[i]) << "'";
    first = false;
  }
  if (first) gp << "0 title 'case I only'";
  // The ideal order of each case: a ring on its curve, labelled.
  const auto ideals = ideal_orders(rows);
  for (const auto& i : ideals)
    gp << ", '-' using 1:2 with points pt 6 ps 2.5 lw 2 lc rgb '" << colour(i.c) << "' title 'ideal " << to_string(i.c)
       << ": " << i.order << "'";
  gp << "\n";
  for (const auto& i : ideals) gp << i.order << ' ' << i.overhead_pct << "\ne\n";
  gp << "unset multiplot\n";
  const fs::path script = dir / "plot.gp";
  std::ofstream(script) << gp.str();
  if (std::string why = run_gnuplot(script); !why.empty()) throw SimError("plot " + out.string() + ": " + why);
}

}  // namespace ckptsim::sim
