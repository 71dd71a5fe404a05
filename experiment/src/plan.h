// What runs, in which order, and which jobs get killed when: the simulator's
// own draws (sim/failure_draws.h), so the real runs face its failures.
#pragma once
#include <vector>

#include "experiment/experiment.h"
#include "sim/failure_draws.h"

namespace ckptsim::experiment {

struct Cell {
  int order = 0;
  sim::Case c = sim::Case::I;
  bool shown = false;  // asked for; I (reference) and II (IV/V's failure-free time) may run unasked
};

// Per order: I, then II when II, IV or V is wanted, then the other asked
// cases in the paper's order. Case I first gives the reference output and the
// failure-free time the kills of III and IIIp are drawn over; II gives the one
// with a checkpoint, for IV and V.
std::vector<Cell> plan_cells(const Options& opts);

// The jobs of one replication of one cell: the simulator's draws for
// (seed, order, replication) over the regular slots.
std::vector<sim::JobFailureDraw> plan_jobs(const Options& opts, const Cell& cell, int replication);

}  // namespace ckptsim::experiment
