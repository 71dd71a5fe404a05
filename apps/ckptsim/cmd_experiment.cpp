// `ckptsim experiment`: the paper's cases run for real on this machine's cores,
// side by side with the simulator's prediction. A thin shell over
// experiment/experiment.h: options in, one call, print.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sim_options.h"
#include "experiment/experiment.h"
#include "experiment/slurm_experiment.h"
#include "models/profile.h"
#include "sim/simulate.h"

namespace ckptsim::cli {
namespace {

struct ExperimentArgs {
  experiment::Options opts;
  std::string sizes = "300,450,600";
  std::string cases = "all";
  std::string placement;  // empty: the simulator's default
  std::string format = "table";
  std::string dump_mode = "in-process";
  std::string plot;
  bool slurm = false;
  experiment::SlurmOptions on_slurm;
};

void run(ExperimentArgs& a, bool spares_given, bool nodes_given, int& exit_code) {
  if (a.format != "table" && a.format != "csv" && a.format != "json")
    throw experiment::ExperimentError("--format must be table, csv or json");
  a.opts.orders = models::parse_sizes(a.sizes);
  a.opts.cases = sim::parse_case_list(a.cases);
  // The simulator's own rules for --v-placement and --spares, so both commands read them alike.
  sim::Scenario words;
  sim::set_v_placement(words, a.placement, spares_given ? std::optional<int>(a.opts.spares) : std::nullopt);
  a.opts.v_placement = words.v_placement;
  a.opts.spares = words.spares;
  a.opts.dump_mode = a.dump_mode == "forked" ? sim::DumpMode::Forked : sim::DumpMode::InProcess;
  experiment::Result r;
  try {
    if (a.slurm) {
      if (!nodes_given) a.opts.nodes = 0;  // all of the partition's
      r = experiment::run_slurm_experiment(a.opts, a.on_slurm, std::cerr);
    } else {
      r = experiment::run_experiment(a.opts, std::cerr);
    }
  } catch (const experiment::RunFailed& e) {
    throw Exit(1, std::string("experiment stopped: ") + e.what());
  }
  if (a.format == "csv")
    std::cout << experiment::format_csv(r);
  else if (a.format == "json")
    std::cout << experiment::to_json(r).dump(2) << "\n";
  else
    std::cout << experiment::format_table(r);
  if (!a.plot.empty() && !r.rows.empty()) {
    experiment::plot(r, a.plot);
    if (a.format == "table") std::cout << "\nfigure: " << a.plot << "\n";
  }
  exit_code = r.interrupted ? 130 : 0;
}

}  // namespace

void add_experiment(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ExperimentArgs>();
  auto* cmd = app.add_subcommand(
      "experiment", "Run the paper's cases for real on this machine and compare with the simulator's prediction");
  auto& o = args->opts;
  o.nodes = experiment::default_nodes();
  auto* nodes = cmd->add_option("--nodes", o.nodes, "node slots, each pinned to its own core (default: the number of cores)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--jobs-per-node", o.jobs_per_node, "jobs each slot runs, one after the other (1 to 1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--sizes", args->sizes, "matrix orders: A:B[:STEP] or a,b,c (small: seconds per job)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--case", args->cases, "I, II, III, IIIp, IV, V, a comma list, or all")->capture_default_str();
  add_failure_rate_option(cmd, o.failure_rate);
  cmd->add_option("--checkpoint-at", o.checkpoint_at, "fraction of the run at the single checkpoint")
      ->capture_default_str()
      ->check(FiniteRange(0.01, 0.99));
  cmd->add_option("--replications", o.replications, "replications of each case and order (1 to 1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", o.seed, "random seed, 0 to 2^64-1 (the simulator draws the same failures)")
      ->capture_default_str()
      ->check(Uint64Digits());
  cmd->add_option("--reboot-s", o.reboot_s, "case IIIp: the slot's downtime after a kill, scaled to the jobs (s)")
      ->capture_default_str()
      ->check(FiniteRange(0, 3600));
  auto* placement = cmd->add_option("--v-placement", args->placement,
                  std::string("case V: share (beside the target's job), queue (front of its queue) or spare "
                              "(--spares slots); default ") + sim::to_string(sim::kDefaultVPlacement));
  auto* spares = cmd->add_option("--spares", o.spares, "spare slots that only receive migrated jobs (--v-placement spare)")
                     ->check(CLI::Range(0, 64));
  cmd->add_option("--profile", o.profile, "profile JSON of this machine (default: calibrate now, at these orders)");
  cmd->add_option("--save-profile", o.profile_out, "write the profile calibrated now to this file");
  auto* copy = cmd->add_option("--copy", o.copy, "case V's copy: netns (shaped gigabit veth) or local (a plain file copy)")
                   ->capture_default_str()
                   ->check(CLI::IsMember({"netns", "local"}));
  auto* slurm = cmd->add_flag("--slurm", args->slurm,
                              "run every job as a Slurm batch job (`ckptsim run --resume`) and every failure as its "
                              "node set down; --nodes: the partition's first N nodes (default: all)");
  cmd->add_option("--partition", args->on_slurm.partition, "with --slurm: the partition (default: the cluster's default)")
      ->needs(slurm);
  cmd->add_option("--shared-dir", args->on_slurm.shared_dir,
                  "with --slurm: where images and outputs go, a directory every node sees at this path "
                  "(checked by a job on one node writing a file a job on another reads; default: the work dir)")
      ->needs(slurm);
  // On Slurm, case V's job is pinned to the next node and queued there (queue placement).
  auto* dump_mode = cmd->add_option("--dump-mode", args->dump_mode,
                                    "how the real jobs write their checkpoints, and the model's: in-process "
                                    "(run --no-fork) or forked (run's default; needs the profile's forked dump costs, "
                                    "measured when calibrated now)")
                        ->check(CLI::IsMember({"in-process", "forked"}))
                        ->capture_default_str();
  slurm->excludes(copy)->excludes(spares)->excludes(placement)->excludes(dump_mode);
  add_format_option(cmd, args->format);
  cmd->add_option("--plot", args->plot, "draw real points over the simulated curves into FILE.png or FILE.svg");
  cmd->callback([args, spares, nodes, &exit_code] { run(*args, spares->count() > 0, nodes->count() > 0, exit_code); });
}

}  // namespace ckptsim::cli
