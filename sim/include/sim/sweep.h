// `ckptsim sweep`: run the simulator over every (order, checkpoint interval) of a
// grid, find the best interval per order and the best order overall, and set
// Young's and Daly's intervals beside them. See docs/internals.md, "The sweep".
//
// The work is split into points, each one sim::run_cell in its own forked
// process (SimGrid allows one engine per process). A point's result depends only
// on its inputs, so any number of workers, or shards merged, give the same output.
#pragma once
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/simulate.h"
#include "sim/simulate_report.h"
#include "util/progress_bar.h"

namespace ckptsim::sim {

// Bad input (grid, shard spec, options, shard files): one line, exit 2.
struct SweepError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A worker died or could not be started: not the user's fault.
struct SweepWorkerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The paper's 17 matrix orders (its Table I).
inline constexpr const char* kPaperOrders =
    "2100,2200,2500,2800,3000,3200,3500,3600,3700,3800,3900,4000,4100,4200,4300,4500,4800";

// ---- The grid -------------------------------------------------------------

// "MIN:MAX[:STEP]" (without STEP: 15 evenly spaced values), "a,b,c" (sorted,
// duplicates dropped) or "auto". Intervals are seconds of compute, > 0.
struct IntervalGrid {
  bool automatic = false;
  std::vector<double> values;  // empty when automatic
};
IntervalGrid parse_interval_grid(const std::string& spec);

// `auto`: `count` log-spaced intervals from lo×center to hi×center.
std::vector<double> auto_intervals(double center, int count = 15, double lo = 0.25, double hi = 4);

// "K/N" with 1 <= K <= N.
struct ShardSpec {
  int k = 1, n = 1;
};
ShardSpec parse_shard(const std::string& spec);

// ---- The plan: every point and the theory beside it -----------------------

struct SweepOptions {
  Scenario base;             // profile, platform, nodes, jobs, case, failures, replications, seed
  std::vector<int> orders;
  IntervalGrid grid;
  std::string profile_label;  // where the profile came from, shown in the header
};

// Each order gets one failure-free baseline (case I, for the overhead), one
// point per grid interval, one each at Young's and Daly's interval, and one
// with a single checkpoint per job (at the base scenario's checkpoint_at).
enum class PointKind { Baseline, Grid, Young, Daly, Single };
std::string to_string(PointKind k);

struct SweepPoint {
  int index = 0;
  int order = 0;
  PointKind kind = PointKind::Grid;
  double interval_s = 0;  // 0 for the baseline
};

// The inputs of the formulas for one order, from the profile and failure model.
struct OrderTheory {
  int order = 0;
  double W = 0;       // failure-free compute of the job
  double C = 0;       // dump cost of its image
  double R = 0;       // restore cost (plus the copy of the image in case V)
  double D = 0;       // downtime: the profile's reboot_s for node failures, else 0
  double M = 0;       // MTBF the job sees
  double young_s = 0, daly_s = 0;
  // The formula optimum for this failure model: node failures → the exact
  // minimiser of the expected-time formula E(τ); the paper's single kill per
  // job → √(2WC/p) (analytic.h). `auto` grids are centred on it.
  std::string formula;            // "expected-time" or "single-kill"
  double optimum_s = 0;
  double optimum_expected_s = 0;  // the formula's turnaround there
};

struct SweepPlan {
  nlohmann::json options;  // canonical description of everything that shapes the results
  std::string hash;        // XXH3-64 of options, 16 hex digits: identifies the sweep
  std::vector<OrderTheory> theory;
  std::vector<SweepPoint> points;
};

SweepPlan make_plan(const SweepOptions& opts);
// The simulator input of one point.
Scenario scenario_for(const SweepOptions& opts, const SweepPoint& p);

nlohmann::json to_json(const SweepPlan& plan);
SweepPlan plan_from_json(const nlohmann::json& j);  // throws SweepError

// ---- Running points --------------------------------------------------------

struct PointResult {
  int index = 0;
  double mean_turnaround_s = 0;
  double ci95_s = 0;
};

using Evaluator = std::function<CellResult(const Scenario&)>;

struct RunControl {
  int workers = 1;
  // Called after each finished point and every few tenths of a second.
  std::function<void(std::size_t done, std::size_t total, double elapsed_s)> on_progress;
  // True once asked to stop (Ctrl-C): stop starting points, kill running ones.
  std::function<bool()> stop;
};

struct RunOutcome {
  std::map<int, PointResult> results;  // by point index
  bool interrupted = false;
};

// Runs the given points of the plan, each in a forked child that calls `eval`
// (unset: the simulation itself, run in that child). Throws SweepError if a
// point's input is rejected by the simulator, SweepWorkerError if a worker dies.
RunOutcome run_points(const SweepOptions& opts, const SweepPlan& plan, const std::vector<int>& indices,
                      const RunControl& control, const Evaluator& eval = {});

// The point indices of shard K/N: index % N == K − 1.
std::vector<int> shard_indices(const SweepPlan& plan, const ShardSpec& shard);

// ---- Results, shards, merge -------------------------------------------------

struct SweepResult {
  SweepPlan plan;
  std::map<int, PointResult> results;
  bool partial = false;  // some points are missing (Ctrl-C)
};

// A shard file: the plan, the shard spec and the results of its points.
nlohmann::json shard_to_json(const SweepResult& r, const ShardSpec& shard);
// Combines shard files (already parsed) into the unsplit result. Throws
// SweepError naming the file for shards of different sweeps, missing or
// repeated shards, and partial shards.
SweepResult merge_shards(const std::vector<std::pair<std::string, nlohmann::json>>& files);

// ---- Reading the results ---------------------------------------------------

struct IntervalOutcome {
  double interval_s = 0;
  double mean_turnaround_s = 0;  // NaN when the point did not run (partial)
  double ci95_s = 0;
};

struct OrderSummary {
  int order = 0;
  double baseline_s = 0;  // failure-free case I turnaround (NaN if missing)
  IntervalOutcome best;   // the grid point with the lowest mean turnaround
  double best_overhead_pct = 0;
  IntervalOutcome young, daly;
  IntervalOutcome single;  // one checkpoint per job (interval_s 0)
  double single_overhead_pct = 0;
  OrderTheory theory;
  bool found = false;  // at least one grid point ran
};

struct SweepSummary {
  std::vector<OrderSummary> orders;
  int best_order = 0;  // lowest overhead at its best interval; 0 if nothing ran
  double best_interval_s = 0;
  // The ideal process size: the order with the lowest overhead at its best
  // periodic interval, and with one checkpoint per job (order 0: none ran).
  IdealOrder ideal_periodic, ideal_single;
};
SweepSummary summarise(const SweepResult& r);

double overhead_pct(double turnaround_s, double baseline_s);

enum class Format { Table, Csv, Json };
Format parse_format(const std::string& s);
void write_table(std::ostream& out, const SweepResult& r);
void write_csv(std::ostream& out, const SweepResult& r);
void write_json(std::ostream& out, const SweepResult& r);
void write_result(std::ostream& out, const SweepResult& r, Format f);

// Draws turnaround vs interval (one curve per order, optimum and Young/Daly
// marked) with gnuplot into a PNG. Throws SweepWorkerError if gnuplot fails.
void write_plot(const SweepResult& r, const std::string& png_path);

// ---- Progress --------------------------------------------------------------

// What the sweep tells util::ProgressBar, and when: on a terminal the bar
// ("points done, time left") at most every 0.2 s; otherwise a plain line at
// every tenth of the work.
class SweepProgress {
 public:
  SweepProgress(std::ostream& err, bool is_tty);
  void update(std::size_t done, std::size_t total, double elapsed_s);
  void finish() { bar_.finish(); }

 private:
  util::ProgressBar bar_;
  double last_draw_s_ = -1;
  std::size_t last_tenth_ = 0;
};

}  // namespace ckptsim::sim
