// `ckptsim simulate`: the paper's cluster and its five cases in SimGrid, driven
// by a profile. A thin shell over sim/simulate.h: options in, cells run, print.
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "sim_options.h"
#include "models/profile.h"
#include "sim/simulate.h"
#include "sim/simulate_report.h"

namespace ckptsim::cli {
namespace {

using namespace ckptsim::sim;

constexpr const char* kPaperOrderList = "2100,2200,2500,2800,3000,3200,3500,3600,3700,3800,3900,4000,4100,4200,4300,4500,4800";

struct SimulateArgs {
  double failure_rate = 0.46;
  double mtbf = 0;
  double weibull_shape = 1.0;
  std::string cases = "all";
  double checkpoint_at = 0.5;
  double interval = 0;
  int nodes = 8;
  int jobs_per_node = 15;
  int replications = 30;
  uint64_t seed = 1;
  std::string sizes = kPaperOrderList;
  std::string profile;
  std::string platform;
  std::string format = "table";
  std::string plot;
  int workers = 0;
  std::string log;
  std::string v_placement;  // empty: the default
  int spares = 0;
  bool incremental = false;
  std::string dump_mode;  // empty: run's default
  int max_chain = 0;
  bool max_chain_given = false;
  StorageArgs storage;
  double requeue_delay = 0;
  std::optional<double> requeue_delay_given;  // --requeue-delay, if given
};

void run(const SimulateArgs& a, bool mtbf_given, bool failure_rate_given, bool shape_given, bool interval_given,
         bool checkpoint_at_given, bool spares_given) {
  if (mtbf_given && failure_rate_given) throw SimError("use either --failure-rate or --mtbf, not both");
  if (shape_given && !mtbf_given) throw SimError("--weibull-shape needs --mtbf");
  if (interval_given && checkpoint_at_given) throw SimError("use either --checkpoint-at or --interval, not both");
  if (interval_given && !(a.interval > 0)) throw SimError("--interval must be a positive number of seconds");
  if (a.format != "table" && a.format != "csv" && a.format != "json")
    throw SimError("--format must be table, csv or json");

  const std::vector<Case> shown = parse_case_list(a.cases);
  const std::vector<int> orders = models::parse_sizes(a.sizes);
  const std::filesystem::path profile_path = a.profile.empty() ? default_profile_path() : std::filesystem::path(a.profile);

  Scenario base;
  base.profile = models::load_profile(profile_path);
  base.platform_file = a.platform;
  base.nodes = a.nodes;
  base.jobs_per_node = a.jobs_per_node;
  base.checkpoint_at = a.checkpoint_at;
  base.interval_s = a.interval;
  base.replications = a.replications;
  base.seed = a.seed;
  base.log = a.log;
  set_v_placement(base, a.v_placement, spares_given ? std::optional<int>(a.spares) : std::nullopt);
  set_incremental(base, a.incremental, a.max_chain_given ? std::optional<int>(a.max_chain) : std::nullopt);
  set_dump_mode(base, a.dump_mode);
  set_storage(base, a.storage.choice());
  set_requeue_delay(base, a.requeue_delay_given);
  if (mtbf_given) {
    base.failures.kind = FailureModel::Kind::Node;
    base.failures.mtbf_s = a.mtbf;
    base.failures.weibull_shape = a.weibull_shape;
  } else {
    base.failures.p = a.failure_rate;
  }

  // Case I always runs: every overhead is against it.
  std::vector<Scenario> cells;
  for (int n : orders)
    for (Case c : all_cases()) {
      bool wanted = c == Case::I;
      for (Case s : shown) wanted = wanted || s == c;
      if (!wanted) continue;
      Scenario s = base;
      s.order = n;
      s.c = c;
      bool shown_case = false;
      for (Case x : shown) shown_case = shown_case || x == c;
      if (!shown_case) s.log.clear();  // case I run only for the overheads tells no story
      validate(s);
      cells.push_back(std::move(s));
    }
  // One story at a time: with --log the cells run one after the other.
  const int workers = !a.log.empty()  ? 1
                      : a.workers > 0 ? a.workers
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const auto rows = with_overheads(run_cells(cells, workers), shown);

  const std::string failures =
      mtbf_given ? "node MTBF " + std::to_string(static_cast<long>(a.mtbf)) + " s" +
                       (a.weibull_shape != 1.0 ? " (Weibull shape " + std::to_string(a.weibull_shape) + ")" : "")
                 : "failure rate " + std::to_string(static_cast<int>(a.failure_rate * 100 + 0.5)) + " %";
  const std::string policy =
      (a.interval > 0 ? "checkpoint every " + std::to_string(a.interval) + " s"
                      : "one checkpoint at " + std::to_string(static_cast<int>(a.checkpoint_at * 100 + 0.5)) + " %") +
      (base.incremental ? " (incremental, chains of " + std::to_string(base.max_chain) + ")" : "");
  bool shows_v = false;
  for (Case c : shown) shows_v = shows_v || c == Case::V;
  const std::string title = "Simulated " + base.profile.name + ": " + std::to_string(a.nodes) + " nodes x " +
                            std::to_string(a.jobs_per_node) + " jobs, " + failures + ", " + policy + ", " +
                            "dumps " + describe_dump_mode(base) + ", " +
                            (shows_v ? "case V " + describe_v_placement(base) + ", " : "") +
                            (base.storage.shared ? describe_storage(base.storage) + ", " : "") +
                            (requeue_delay_s(base) > 0 ? describe_requeue_delay(base) + ", " : "") +
                            std::to_string(a.replications) + " replications, seed " + std::to_string(a.seed);
  if (a.format == "csv") {
    std::cout << format_csv(rows);
  } else if (a.format == "json") {
    nlohmann::json params = {{"profile", profile_path.string()},
                             {"platform", a.platform},
                             {"nodes", a.nodes},
                             {"jobs_per_node", a.jobs_per_node},
                             {"replications", a.replications},
                             {"seed", a.seed},
                             {"v_placement", to_string(base.v_placement)},
                             {"spares", base.spares},
                             {"incremental", base.incremental},
                             {"max_chain", base.incremental ? nlohmann::json(base.max_chain) : nlohmann::json(nullptr)},
                             {"checkpoint_at", a.interval > 0 ? nlohmann::json(nullptr) : nlohmann::json(a.checkpoint_at)},
                             {"interval_s", a.interval},
                             {"failures", mtbf_given ? nlohmann::json{{"mtbf_s", a.mtbf}, {"weibull_shape", a.weibull_shape}}
                                                     : nlohmann::json{{"failure_rate", a.failure_rate}}}};
    if (requeue_delay_s(base) > 0) params["requeue_delay_s"] = requeue_delay_s(base);
    // Only when forked: the output of a profile without forked costs is as before.
    if (base.dump_mode == DumpMode::Forked) params["dump_mode"] = describe_dump_mode(base);
    if (base.storage.shared)
      params["shared_storage"] = {{"total_Bps", base.storage.total_Bps}, {"client_Bps", base.storage.client_Bps}};
    std::cout << to_json(rows, params).dump(2) << "\n";
  } else {
    std::cout << format_table(rows, title, a.interval > 0 ? policy : "one checkpoint per job");
  }
  if (!a.plot.empty()) {
    plot_simulation(rows, a.plot, title);
    if (a.format == "table") std::cout << "\nfigure: " << a.plot << "\n";
  }
}

}  // namespace

void add_simulate(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<SimulateArgs>();
  auto* cmd = app.add_subcommand("simulate", "Simulate the paper's cluster with failures (SimGrid)");
  const FailureOptions failures = add_failure_options(cmd, args->failure_rate, args->mtbf, args->weibull_shape);
  auto *rate = failures.rate, *mtbf = failures.mtbf, *shape = failures.shape;
  cmd->add_option("--case", args->cases, "I, II, III, IIIp, IV, V, a comma list, or all")->capture_default_str();
  auto* at = cmd->add_option("--checkpoint-at", args->checkpoint_at, "fraction of the compute at the single checkpoint")
                 ->capture_default_str();
  auto* interval = cmd->add_option("--interval", args->interval, "periodic checkpoints every this many seconds of compute");
  add_run_size_options(cmd, args->nodes, args->jobs_per_node, args->replications, args->seed);
  cmd->add_option("--sizes", args->sizes, "matrix orders: A:B[:STEP] or a,b,c (default: the paper's 17)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--profile", args->profile, "profile JSON (default: data/profiles/paper-p4.json)");
  cmd->add_option("--platform", args->platform, "SimGrid platform XML (default: built in code from the profile)");
  add_format_option(cmd, args->format);
  cmd->add_option("--plot", args->plot, "draw turnaround and overhead vs order into FILE.png or FILE.svg");
  add_workers_option(cmd, args->workers, "cells run");
  cmd->add_option("--log", args->log,
                  "tell the story in simulated time; SimGrid --log settings, e.g. ckptsim.thres:info")
      ->expected(0, 1)
      ->default_str("ckptsim.thres:info");
  auto* spares = add_v_placement_options(cmd, args->v_placement, args->spares);
  auto* max_chain = add_incremental_options(cmd, args->incremental, args->max_chain);
  add_dump_mode_option(cmd, args->dump_mode);
  add_storage_options(cmd, args->storage);
  auto* requeue = add_requeue_delay_option(cmd, args->requeue_delay);
  cmd->callback([args, &exit_code, rate, mtbf, shape, interval, at, spares, max_chain, requeue, cmd] {
    if (cmd->count("--log") && args->log.empty()) args->log = "ckptsim.thres:info";
    args->requeue_delay_given = if_given(requeue, args->requeue_delay);
    args->max_chain_given = max_chain->count() > 0;
    run(*args, mtbf->count() > 0, rate->count() > 0, shape->count() > 0, interval->count() > 0, at->count() > 0,
        spares->count() > 0);
    exit_code = 0;
  });
}

}  // namespace ckptsim::cli
