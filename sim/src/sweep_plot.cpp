// The sweep's figure, drawn by gnuplot: turnaround vs interval (one curve per
// order, coloured by order), overhead % vs interval beside it, and on every
// curve the simulated best, Young's and Daly's intervals.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gnuplot.h"
#include "sim/sweep.h"

namespace ckptsim::sim {

namespace fs = std::filesystem;

namespace {

// The files gnuplot reads, in the scratch directory.
struct PlotFiles {
  fs::path curves, marks, ideal, script;
};

// The y ranges of the two panels, as gnuplot writes them ("[lo:hi]").
struct PlotRanges {
  std::string turnaround = "[*:*]", overhead = "[*:*]";
};

// The data: one block of (interval, turnaround, overhead, order) per order in
// `curves`, one row of best/Young/Daly per order in `marks`, and the ideal
// order's best in `ideal`. Returns the y ranges that fit them; throws
// SweepError when no point finished.
PlotRanges write_plot_data(const SweepResult& r, const SweepSummary& s, const PlotFiles& f) {
  std::ofstream c(f.curves), m(f.marks);
  c.precision(10);
  m.precision(10);
  int blocks = 0;
  double t_lo = HUGE_VAL, t_hi = 0, o_lo = HUGE_VAL, o_hi = -HUGE_VAL;
  for (const auto& o : s.orders) {
    bool any = false;
    for (const auto& p : r.plan.points) {
      if (p.order != o.order || p.kind != PointKind::Grid) continue;
      auto it = r.results.find(p.index);
      if (it == r.results.end()) continue;
      const double t = it->second.mean_turnaround_s;
      const double ovh = overhead_pct(t, o.baseline_s);
      c << p.interval_s << ' ' << t << ' ' << ovh << ' ' << o.order << '\n';
      t_lo = std::min(t_lo, t), t_hi = std::max(t_hi, t);
      if (std::isfinite(ovh)) o_lo = std::min(o_lo, ovh), o_hi = std::max(o_hi, ovh);
      any = true;
    }
    if (any) {
      c << "\n\n";
      ++blocks;
    }
    const auto row = [&](const IntervalOutcome& v) {
      if (!std::isfinite(v.mean_turnaround_s)) return std::string("NaN NaN NaN");
      return std::to_string(v.interval_s) + ' ' + std::to_string(v.mean_turnaround_s) + ' ' +
             std::to_string(overhead_pct(v.mean_turnaround_s, o.baseline_s));
    };
    m << o.order << ' ' << row(o.best) << ' ' << row(o.young) << ' ' << row(o.daly) << '\n';
    if (o.order == s.ideal_periodic.order) std::ofstream(f.ideal) << row(o.best) << '\n';
  }
  if (s.ideal_periodic.order == 0) std::ofstream(f.ideal) << "NaN NaN NaN\n";
  if (blocks == 0) throw SweepError("nothing to plot: no point finished");
  // Tight ranges: the turnaround spans the orders; the overhead axis stops at
  // 2.5x the lowest overhead, so the steep short-interval ends do not squash
  // the region around the optimum where the markers are.
  PlotRanges ranges;
  ranges.turnaround = "[" + std::to_string(t_lo * 0.9) + ":" + std::to_string(t_hi * 1.1) + "]";
  if (std::isfinite(o_lo)) {
    const double top = std::min(o_hi, o_lo > 0 ? o_lo * 2.5 : o_hi);
    const double pad = 0.05 * std::max(top - o_lo, 1.0);
    ranges.overhead = "[" + std::to_string(o_lo - pad) + ":" + std::to_string(top + pad) + "]";
  }
  return ranges;
}

// The figure's title: the case, the best order and interval, what kind of ideal size it is.
std::string plot_title(const SweepResult& r, const SweepSummary& s) {
  std::string title = "Checkpoint interval sweep, case " + r.plan.options.at("case").get<std::string>();
  if (s.best_order)
    title += ": best order " + std::to_string(s.best_order) + ", every " +
             std::to_string(static_cast<long>(std::lround(s.best_interval_s))) + " s" +
             (s.ideal_periodic.interior                            ? " (an interior ideal size)"
              : s.ideal_periodic.order == s.ideal_periodic.largest ? " (the largest order: no interior ideal size)"
                                                                    : " (the smallest order)");
  if (r.partial) title += " (partial)";
  return title;
}

// The script's common settings: output, layout, the order palette, the axes.
void write_plot_settings(std::ostream& g, const SweepSummary& s, const std::string& png_path, const std::string& title) {
  int lo = s.orders.front().order, hi = s.orders.back().order;
  for (const auto& o : s.orders) lo = std::min(lo, o.order), hi = std::max(hi, o.order);
  if (lo == hi) hi = lo + 1;
  g << "set terminal pngcairo size 1600,760 font 'Sans,11'\n"
    << "set output " << gnuplot_quoted(png_path) << "\n"
    << "set datafile missing 'NaN'\n"
    << "set multiplot layout 1,2 title " << gnuplot_quoted(title) << " font 'Sans,14'\n"
    << "set palette defined (0 '#2c7bb6', 1 '#abd9e9', 2 '#fdae61', 3 '#d7191c')\n"
    << "set cbrange [" << lo << ":" << hi << "]\n"
    << "set cblabel 'matrix order'\n"
    << "set logscale x\n"
    << "set grid xtics ytics mxtics lc rgb '#dddddd'\n"
    << "set xlabel 'checkpoint interval (s of compute)'\n"
    << "set key top left box opaque\n"
    << "set style line 1 lc rgb 'black' pt 7 ps 1.4\n"
    << "set style line 2 lc rgb 'black' pt 8 ps 1.6 lw 1.5\n"
    << "set style line 3 lc rgb 'black' pt 4 ps 1.6 lw 1.5\n"
    << "unset colorbox\n";
}

// The two panels: turnaround (log scale) and overhead %, the ideal order marked on the latter.
void write_plot_panels(std::ostream& g, const PlotFiles& f, const PlotRanges& ranges, const std::string& ideal_title) {
  g << "set logscale y\n"
    << "set yrange " << ranges.turnaround << "\n"
    << "set ytics (10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 3000, 5000, 10000, 20000, 30000, 50000, 100000)\n"
    << "set ylabel 'mean job turnaround (s)'\n"
    << "set title 'turnaround (one curve per order)'\n"
    << "plot for [i=0:*] " << gnuplot_quoted(f.curves.string()) << " index i using 1:2:4 with lines lc palette lw 2 notitle, \\\n"
    << "  " << gnuplot_quoted(f.marks.string()) << " using 2:3 with points ls 1 title 'simulated best', \\\n"
    << "  '' using 5:6 with points ls 2 title 'Young', \\\n"
    << "  '' using 8:9 with points ls 3 title 'Daly'\n"
    << "unset logscale y\n"
    << "set yrange " << ranges.overhead << "\n"
    << "set ytics autofreq\n"
    << "set colorbox\n"
    << "set ylabel 'overhead over failure-free turnaround (%)'\n"
    << "set title 'overhead %'\n"
    << "plot for [i=0:*] " << gnuplot_quoted(f.curves.string()) << " index i using 1:3:4 with lines lc palette lw 2 notitle, \\\n"
    << "  " << gnuplot_quoted(f.marks.string()) << " using 2:4 with points ls 1 title 'simulated best', \\\n"
    << "  '' using 5:7 with points ls 2 title 'Young', \\\n"
    << "  '' using 8:10 with points ls 3 title 'Daly', \\\n"
    << "  " << gnuplot_quoted(f.ideal.string()) << " using 1:3 with points pt 6 ps 3 lw 2 lc rgb '#d7191c' title "
    << gnuplot_quoted(ideal_title) << "\n"
    << "unset multiplot\n";
}

}  // namespace

void write_plot(const SweepResult& r, const std::string& png_path) {
  const auto s = summarise(r);
  util::ScratchDir dir;
  try {
    dir = make_plot_dir();
  } catch (const std::runtime_error& e) {
    throw SweepWorkerError(e.what());
  }
  const PlotFiles files{dir / "curves.dat", dir / "marks.dat", dir / "ideal.dat", dir / "plot.gp"};
  const PlotRanges ranges = write_plot_data(r, s, files);
  {
    std::ofstream g(files.script);
    write_plot_settings(g, s, png_path, plot_title(r, s));
    write_plot_panels(g, files, ranges, "ideal order " + std::to_string(s.ideal_periodic.order));
  }
  if (std::string why = run_gnuplot(files.script); !why.empty()) throw SweepWorkerError(why);
}

}  // namespace ckptsim::sim
