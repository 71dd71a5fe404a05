// Presenting `ckptsim simulate` results: the paper-style table, CSV, JSON and
// the two figures (turnaround vs order, overhead % vs order).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/simulate.h"

namespace ckptsim::sim {

struct SimulationRow {
  CellResult cell;
  double overhead_pct = 0;  // against case I of the same order
};

// Pairs every cell with its overhead against the case-I cell of its order
// (which `cells` must contain); keeps only the cases in `shown`.
std::vector<SimulationRow> with_overheads(const std::vector<CellResult>& cells, const std::vector<Case>& shown);

// The ideal process size for one case: the order with the lowest overhead
// among those simulated (ties: the smaller). interior = it is neither the
// smallest nor the largest order, i.e. the overhead rises again past it.
struct IdealOrder {
  Case c = Case::II;
  int order = 0;
  double overhead_pct = 0;
  double ci95_pct = 0;  // the turnaround's CI in points of overhead
  bool interior = false;
  int smallest = 0, largest = 0;  // the orders it was chosen from
  int overlapping = 0;            // other orders whose CI overlaps the ideal's: not told apart
};
// The lowest overhead among (order, overhead, CI) points of case c (NaN
// overheads skipped; ties: the first). order == 0 when none is finite.
struct OrderOverhead {
  int order = 0;
  double overhead_pct = 0, ci95_pct = 0;
};
IdealOrder lowest_overhead(Case c, const std::vector<OrderOverhead>& points);
// One per case other than I present in rows (in case order); none with one order.
std::vector<IdealOrder> ideal_orders(const std::vector<SimulationRow>& rows);
// "ideal order, case II (POLICY): 4000, overhead 5.30 % +- 0.00 (lowest of
// 2100..4800: the overhead rises again past it)" or "... the largest order
// simulated: the overhead still falls there, no ideal size below it".
std::string format_ideal(const IdealOrder& ideal, const std::string& policy);

// The two tables, then one "ideal order" line per case (policy as in format_ideal).
std::string format_table(const std::vector<SimulationRow>& rows, const std::string& title,
                         const std::string& policy = "");
// Header exactly: order,case,mean_turnaround_s,ci95_s,overhead_pct
std::string format_csv(const std::vector<SimulationRow>& rows);
nlohmann::json to_json(const std::vector<SimulationRow>& rows, const nlohmann::json& parameters);

// Draws both figures side by side with gnuplot (png via pngcairo, or svg, by
// the file's extension). Throws SimError if gnuplot fails.
// The overhead panel marks each case's ideal order.
void plot_simulation(const std::vector<SimulationRow>& rows, const std::filesystem::path& out,
                     const std::string& title);

}  // namespace ckptsim::sim
