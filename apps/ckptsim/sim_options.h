// Option groups of the simulator's commands (simulate, sweep, experiment),
// checked by CLI11; apart from commands.h because they use sim's ranges.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "commands.h"
#include "sim/simulate.h"

namespace ckptsim::cli {

using sim::kMaxWeibullShape;
using sim::kMinWeibullShape;
using sim::kWeibullShapeRange;

// A finite number > 0. (How small an MTBF may be depends on the whole run:
// the simulator's event budget says that, with the smallest it would accept.)
inline CLI::Validator PositiveFinite() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        const char* begin = input.c_str();
        char* end = nullptr;
        const double v = std::strtod(begin, &end);  // an overflow is inf, an underflow 0 or tiny
        if (input.empty() || end != begin + input.size() || !std::isfinite(v) || !(v > 0))
          return "'" + input + "' is not a finite number > 0";
        return std::string();
      },
      "> 0");
}

// How jobs fail, for simulate and sweep (and --failure-rate alone for
// experiment): a kill probability per job, or node failures with an MTBF and
// a Weibull shape; the two are exclusive and the shape needs the MTBF.
inline CLI::Option* add_failure_rate_option(CLI::App* cmd, double& rate) {
  return cmd->add_option("--failure-rate", rate, "each job is killed once with this probability (0 to 1), at a uniform time of its run")
      ->capture_default_str()
      ->check(FiniteRange(0, 1));
}
struct FailureOptions {
  CLI::Option *rate, *mtbf, *shape;
};
inline FailureOptions add_failure_options(CLI::App* cmd, double& rate, double& mtbf, double& shape) {
  FailureOptions o;
  o.rate = add_failure_rate_option(cmd, rate);
  o.mtbf = cmd->add_option("--mtbf", mtbf, "fail nodes instead, with this mean time between failures (s, > 0)")
               ->check(PositiveFinite());
  o.shape = cmd->add_option("--weibull-shape", shape,
                            std::string("Weibull shape of node failures (1: exponential; ") + kWeibullShapeRange + ")")
                ->check(FiniteRange(kMinWeibullShape, kMaxWeibullShape))
                ->needs(o.mtbf);
  o.rate->excludes(o.mtbf);
  return o;
}

}  // namespace ckptsim::cli
