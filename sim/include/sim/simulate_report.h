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

std::string format_table(const std::vector<SimulationRow>& rows, const std::string& title);
// Header exactly: order,case,mean_turnaround_s,ci95_s,overhead_pct
std::string format_csv(const std::vector<SimulationRow>& rows);
nlohmann::json to_json(const std::vector<SimulationRow>& rows, const nlohmann::json& parameters);

// Draws both figures side by side with gnuplot (png via pngcairo, or svg, by
// the file's extension). Throws SimError if gnuplot fails.
void plot_simulation(const std::vector<SimulationRow>& rows, const std::filesystem::path& out,
                     const std::string& title);

}  // namespace ckptsim::sim
