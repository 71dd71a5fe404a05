// One function per subcommand; each lives in its own cmd_*.cpp and registers
// itself on the top-level app. A subcommand reports its result through
// `exit_code`; it reports bad input by throwing (main prints one line, exit 2).
#pragma once
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace ckptsim::cli {

// Thrown by a subcommand to end with a specific exit code after printing `what()`
// as the single error line (an empty what() prints nothing).
struct Exit : std::runtime_error {
  int code;
  Exit(int c, const std::string& msg) : std::runtime_error(msg), code(c) {}
};

// A real number that must be finite and within [lo, hi] (or exactly 0 when
// zero_ok). CLI::Range is not enough for doubles: NaN compares false and passes.
inline CLI::Validator FiniteRange(double lo, double hi, bool zero_ok = false) {
  std::ostringstream what;
  what << (zero_ok ? "0 or " : "") << lo << " to " << hi;
  const std::string range = what.str();
  return CLI::Validator(
      [lo, hi, zero_ok, range](std::string& input) -> std::string {
        const char* begin = input.c_str();
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(begin, &end);
        if (input.empty() || end != begin + input.size() || errno == ERANGE || !std::isfinite(v))
          return "'" + input + "' is not a finite number (expected " + range + ")";
        if (!(zero_ok && v == 0) && !(v >= lo && v <= hi)) return "'" + input + "' is not in the range " + range;
        return std::string();
      },
      "in " + range);
}

// An unsigned 64-bit integer written in decimal digits only: no sign, no
// exponent, no wrap-around (CLI11 alone turns -1 and 2^64 into 2^64-1).
inline CLI::Validator Uint64Digits() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        const bool digits = !input.empty() && input.find_first_not_of("0123456789") == std::string::npos;
        errno = 0;
        if (digits) std::strtoull(input.c_str(), nullptr, 10);
        if (digits && errno != ERANGE) return std::string();
        return "'" + input + "' is not an integer from 0 to 18446744073709551615";
      },
      "0 to 2^64-1");
}

// The options of simulate and sweep that size a run, with their ranges: counts
// of 1 to 1000000 (their product is bounded further by the simulator's event
// budget, sim::check_event_budget) and a seed of 0 to 2^64-1.
inline void add_run_size_options(CLI::App* cmd, int& nodes, int& jobs_per_node, int& replications, uint64_t& seed) {
  const CLI::Range count(1, 1000000);
  cmd->add_option("--nodes", nodes, "compute nodes (1 to 1000000)")->capture_default_str()->check(count);
  cmd->add_option("--jobs-per-node", jobs_per_node, "jobs each node runs, one after the other (1 to 1000000)")
      ->capture_default_str()
      ->check(count);
  cmd->add_option("--replications", replications, "independent replications of each cell or point (1 to 1000000)")
      ->capture_default_str()
      ->check(count);
  cmd->add_option("--seed", seed, "random seed, 0 to 2^64-1 (same seed, same output)")
      ->capture_default_str()
      ->check(Uint64Digits());
}

// --format of simulate, sweep and experiment.
inline void add_format_option(CLI::App* cmd, std::string& format) {
  cmd->add_option("--format", format, "table, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"table", "csv", "json"}));
}

// --workers of simulate and sweep: processes running cells or points at once,
// 1 to 1024 (0 or a negative count means nothing; more than 1024 processes of
// a simulator only thrash). Unset: the number of cores.
inline void add_workers_option(CLI::App* cmd, int& workers, const std::string& what) {
  cmd->add_option("--workers", workers, what + " at once, each in its own process (1 to 1024; default: cores)")
      ->check(CLI::Range(1, 1024));
}

// Case V placement options of simulate, sweep and experiment. CLI11 checks the
// name and the sign; sim::set_v_placement(scenario, placement, spares given ?
// spares : nullopt) checks the rest (--spares only with spare, spare needs >= 1).
// Returns the --spares option, to ask it whether it was given.
inline CLI::Option* add_v_placement_options(CLI::App* cmd, std::string& placement, int& spares) {
  auto* where = cmd->add_option("--v-placement", placement,
                                "case V: where a killed job's image is restored: share (beside the next node's job, "
                                "time-sharing it), queue (front of the next node's queue) or spare (a spare node)")
                    ->check(CLI::IsMember({"share", "queue", "spare"}));
  return cmd->add_option("--spares", spares, "spare nodes for --v-placement spare (default 1; 1 to 1000000)")
      ->check(CLI::Range(0, 1000000))
      ->needs(where);
}

// --incremental [--max-chain N] of simulate and sweep (the model of `run
// --incremental`); sim::set_incremental checks the profile has the costs.
// Returns the --max-chain option, to ask it whether it was given.
inline CLI::Option* add_incremental_options(CLI::App* cmd, bool& incremental, int& max_chain) {
  auto* inc = cmd->add_flag("--incremental", incremental,
                            "checkpoints as `run --incremental` takes them: a full dump, then incremental ones that "
                            "write what changed (the profile's measured dirty rate and costs)");
  return cmd->add_option("--max-chain", max_chain,
                         "with --incremental: incremental dumps on each full one, as run's --max-chain (default: the profile's, 8)")
      ->check(CLI::Range(1, 1000000))
      ->needs(inc);
}

// --dump-mode in-process|forked of simulate and sweep (default: the mode
// `run` uses by default, forked where the profile has its costs);
// sim::set_dump_mode checks the profile has them.
inline void add_dump_mode_option(CLI::App* cmd, std::string& dump_mode) {
  cmd->add_option("--dump-mode", dump_mode,
                  "how checkpoints are written: forked (the job stopped only for the fork; run's default) or "
                  "in-process (run --no-fork). Default: forked where the profile has forked dump costs, else "
                  "in-process")
      ->check(CLI::IsMember({"in-process", "forked"}));
}

void add_run(CLI::App& app, int& exit_code);
void add_checkpoint(CLI::App& app, int& exit_code);
void add_restart(CLI::App& app, int& exit_code);
void add_calibrate(CLI::App& app, int& exit_code);
void add_receive(CLI::App& app, int& exit_code);
void add_image(CLI::App& app, int& exit_code);     // cmd_image.cpp
void add_simulate(CLI::App& app, int& exit_code);  // in libckptsim-sim.so
void add_sweep(CLI::App& app, int& exit_code);     // in libckptsim-sim.so
void add_experiment(CLI::App& app, int& exit_code);  // in libckptsim-sim.so

// Registers simulate and sweep: loaded from libckptsim-sim.so (next to the
// binary) when `load` is true, else as placeholders that only show in --help.
void add_sim_commands(CLI::App& app, int& exit_code, bool load);

}  // namespace ckptsim::cli
