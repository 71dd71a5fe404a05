// Inside a worker process (forked_workers.h): one cell simulated right here,
// in this process's one SimGrid engine. Anywhere else, use run_cell.
#pragma once
#include "sim/simulate.h"

namespace ckptsim::sim {

CellResult simulate_in_this_process(const Scenario& s);

}  // namespace ckptsim::sim
