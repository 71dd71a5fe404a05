// How often to checkpoint: the classic first- and higher-order intervals.
// They belong with the cost model (not the simulator) because `run --interval
// auto` uses them on a live job, and `sweep` compares its simulated optimum
// against them. C = what one checkpoint costs the job (s), M = mean time
// between failures (s); the interval is compute between two checkpoints (s).
#pragma once
#include <functional>
#include <stdexcept>
#include <string>

namespace ckptsim::models {

struct IntervalError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Young (1974): τ = √(2CM). C ≥ 0, M > 0; throws IntervalError (one line) otherwise.
double young_interval(double C, double M);

// Daly (2006), higher order: τ = √(2CM)·[1 + ⅓√(C/2M) + (1/9)(C/2M)] − C when
// C < 2M, else τ = M. C ≥ 0, M > 0.
double daly_interval(double C, double M);

// `run --interval auto`: the next interval from the cost of the dump just
// measured. Before any dump has been measured the rule assumes kAssumedDumpS
// (a few hundred MB at disk speed): the first interval only decides when the
// first real measurement is taken.
struct AutoInterval {
  static constexpr double kAssumedDumpS = 1.0;
  double mtbf_s = 0;
  // The interval to use after a dump that cost cost_s (< 0: none measured yet).
  double next(double cost_s) const;
  // "Daly, C = 0.052 s, MTBF 3600 s" for the decision log.
  std::string explain(double cost_s) const;
};

// Throws IntervalError unless mtbf_s is finite and > 0.
AutoInterval daly_auto_interval(double mtbf_s);

}  // namespace ckptsim::models
