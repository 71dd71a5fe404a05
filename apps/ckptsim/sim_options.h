// Option groups of the simulator's commands (simulate, sweep, experiment),
// checked by CLI11; apart from commands.h because they use sim's ranges.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
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

// A finite number >= 0 (CLI::NonNegativeNumber lets NaN through).
inline CLI::Validator NonNegativeFinite() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        const char* begin = input.c_str();
        char* end = nullptr;
        const double v = std::strtod(begin, &end);
        if (input.empty() || end != begin + input.size() || !std::isfinite(v) || !(v >= 0))
          return "'" + input + "' is not a finite number >= 0";
        return std::string();
      },
      ">= 0");
}

// --requeue-delay of simulate and sweep: the scheduler's queue wait after a
// failure, overriding the profile's scheduler.requeue_delay_s; mapped to the
// scenario by sim::set_requeue_delay(scenario, if_given(option, value)).
inline CLI::Option* add_requeue_delay_option(CLI::App* cmd, double& seconds) {
  return cmd->add_option("--requeue-delay", seconds,
                         "cases III-V: a killed job's next attempt starts this many seconds later (a scheduler's "
                         "queue wait after a requeue; >= 0; default: the profile's scheduler.requeue_delay_s, else 0)")
      ->check(NonNegativeFinite());
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

// The value of an option that was given, else nothing.
inline std::optional<double> if_given(const CLI::Option* o, double v) {
  return o && o->count() ? std::optional<double>(v) : std::nullopt;
}

// Where images go, for simulate and sweep: each node's disk, or a shared
// file system (sim::Storage) with a total and an optional per-node bandwidth;
// `measured`: the one `calibrate --shared-dir` put in the profile.
struct StorageArgs {
  std::string total;
  double client_MBps = 0;
  CLI::Option *total_opt = nullptr, *client_opt = nullptr;
  sim::StorageChoice choice() const {
    sim::StorageChoice c;
    if (total == "measured") c.measured = true;
    else if (total_opt && total_opt->count()) c.total_MBps = std::stod(total);  // checked by CLI11
    c.client_MBps = if_given(client_opt, client_MBps);
    return c;
  }
};
inline void add_storage_options(CLI::App* cmd, StorageArgs& o) {
  o.total_opt = cmd->add_option("--shared-storage", o.total,
                                "write and read images on a shared file system of this total bandwidth (MB/s, > 0, "
                                "or `measured`: the profile's, from calibrate --shared-dir), shared by every "
                                "concurrent dump, restore and copy (default: each node's own disk)")
                    ->check(PositiveFinite() | CLI::IsMember({"measured"}));
  o.client_opt = cmd->add_option("--shared-client", o.client_MBps,
                                 "with --shared-storage: the most one node moves (MB/s, > 0; default: its link's "
                                 "bandwidth, or with `measured` what one writer got)")
                     ->check(PositiveFinite())
                     ->needs(o.total_opt);
}

}  // namespace ckptsim::cli
