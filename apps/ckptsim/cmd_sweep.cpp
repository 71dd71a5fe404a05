// `ckptsim sweep`: search process size and checkpoint interval for the lowest
// turnaround. A thin shell over sim/sweep.h: options in, plan, run, print.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "sim_options.h"
#include "models/profile.h"
#include "sim/simulate.h"
#include "sim/sweep.h"
#include "slurm/sweep_array.h"
#include "util/stop.h"

namespace ckptsim::cli {

namespace {

namespace fs = std::filesystem;
using namespace ckptsim::sim;

struct SweepArgs {
  std::string interval = "auto";
  std::string sizes = kPaperOrders;
  double failure_rate = 0.46;
  double mtbf = 0;
  double weibull_shape = 1.0;
  std::string profile;
  std::string platform;
  int nodes = 8;
  int jobs_per_node = 15;
  int replications = 30;
  uint64_t seed = 1;
  std::string case_name = "IV";
  std::string v_placement;  // empty: the default
  int spares = 0;
  bool incremental = false;
  std::string dump_mode;  // empty: run's default
  int max_chain = 0;
  bool max_chain_given = false;
  StorageArgs storage;
  double requeue_delay = 0;
  std::optional<double> requeue_delay_given;  // --requeue-delay, if given
  int workers = 0;
  std::string shard;
  std::vector<std::string> merge;
  std::string format = "table";
  std::string plot;
  std::string output;
  bool quiet = false;
  bool slurm = false;
  std::string partition;
  int tasks = 4;
  bool no_wait = false;
  bool print_sbatch = false;
};

int default_workers() {
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

Case parse_sweep_case(const std::string& s) {
  if (s == "IV" || s == "iv") return Case::IV;
  if (s == "V" || s == "v") return Case::V;
  throw SweepError("--case must be IV or V (cases with checkpoints and failures), not '" + s + "'");
}

// Writes to -o FILE (via a temp file renamed into place, so a failed run never
// leaves half a file) or to stdout.
template <typename Fn>
void emit(const std::string& path, Fn&& write) {
  if (path.empty() || path == "-") {
    write(std::cout);
    std::cout.flush();
    return;
  }
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    if (!out) throw SweepError("cannot write " + path);
    write(out);
    out.flush();
    if (!out) throw SweepError("cannot write " + path);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw SweepError("cannot write " + path);
  }
}

SweepResult merge_files(const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, nlohmann::json>> files;
  for (const auto& name : names) {
    std::ifstream in(name);
    if (!in) throw SweepError("cannot read shard file " + name);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) throw SweepError(name + " is not a sweep shard file (not JSON)");
    files.emplace_back(name, std::move(j));
  }
  return merge_shards(files);
}

SweepOptions build_options(const SweepArgs& a, bool mtbf_given, bool spares_given) {
  SweepOptions o;
  const fs::path profile = a.profile.empty() ? default_profile_path() : fs::path(a.profile);
  o.base.profile = models::load_profile(profile);
  o.profile_label = profile.lexically_normal().string();
  o.base.platform_file = a.platform;
  o.base.nodes = a.nodes;
  o.base.jobs_per_node = a.jobs_per_node;
  o.base.replications = a.replications;
  o.base.seed = a.seed;
  o.base.c = parse_sweep_case(a.case_name);
  if (o.base.c != Case::V && !a.v_placement.empty()) throw SweepError("--v-placement needs --case V");
  try {
    set_v_placement(o.base, a.v_placement, spares_given ? std::optional<int>(a.spares) : std::nullopt);
    set_incremental(o.base, a.incremental, a.max_chain_given ? std::optional<int>(a.max_chain) : std::nullopt);
    set_dump_mode(o.base, a.dump_mode);
    set_storage(o.base, a.storage.choice());
    set_requeue_delay(o.base, a.requeue_delay_given);
  } catch (const SimError& e) {
    throw SweepError(e.what());
  }
  if (mtbf_given) {
    o.base.failures.kind = FailureModel::Kind::Node;
    o.base.failures.mtbf_s = a.mtbf;
    o.base.failures.weibull_shape = a.weibull_shape;
  } else {
    o.base.failures.kind = FailureModel::Kind::PerJob;
    o.base.failures.p = a.failure_rate;
  }
  o.orders = models::parse_sizes(a.sizes);
  o.grid = parse_interval_grid(a.interval);
  return o;
}

std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

// --slurm: every task runs `sweep --shard K/N` with the options that define the
// points (as given, doubles to 17 digits, paths absolute), the merge job the rest.
void submit_to_slurm(const SweepArgs& a, bool mtbf_given, bool weibull_given, bool spares_given) {
  slurm::SweepArray s;
  s.ckptsim = fs::read_symlink("/proc/self/exe");
  s.sweep_args = {"--interval", a.interval, "--sizes", a.sizes, "--nodes", std::to_string(a.nodes),
                  "--jobs-per-node", std::to_string(a.jobs_per_node), "--replications", std::to_string(a.replications),
                  "--seed", std::to_string(a.seed), "--case", a.case_name};
  if (mtbf_given) s.sweep_args.insert(s.sweep_args.end(), {"--mtbf", exact(a.mtbf)});
  else s.sweep_args.insert(s.sweep_args.end(), {"--failure-rate", exact(a.failure_rate)});
  if (weibull_given) s.sweep_args.insert(s.sweep_args.end(), {"--weibull-shape", exact(a.weibull_shape)});
  if (!a.v_placement.empty()) s.sweep_args.insert(s.sweep_args.end(), {"--v-placement", a.v_placement});
  if (spares_given) s.sweep_args.insert(s.sweep_args.end(), {"--spares", std::to_string(a.spares)});
  if (a.incremental) s.sweep_args.push_back("--incremental");
  if (!a.dump_mode.empty()) s.sweep_args.insert(s.sweep_args.end(), {"--dump-mode", a.dump_mode});
  if (a.max_chain_given) s.sweep_args.insert(s.sweep_args.end(), {"--max-chain", std::to_string(a.max_chain)});
  const sim::StorageChoice storage = a.storage.choice();
  if (storage.measured) s.sweep_args.insert(s.sweep_args.end(), {"--shared-storage", "measured"});
  if (storage.total_MBps) s.sweep_args.insert(s.sweep_args.end(), {"--shared-storage", exact(*storage.total_MBps)});
  if (storage.client_MBps) s.sweep_args.insert(s.sweep_args.end(), {"--shared-client", exact(*storage.client_MBps)});
  if (a.requeue_delay_given) s.sweep_args.insert(s.sweep_args.end(), {"--requeue-delay", exact(*a.requeue_delay_given)});
  if (!a.profile.empty()) s.sweep_args.insert(s.sweep_args.end(), {"--profile", absolute(a.profile)});
  if (!a.platform.empty()) s.sweep_args.insert(s.sweep_args.end(), {"--platform", absolute(a.platform)});
  if (a.workers > 0) s.sweep_args.insert(s.sweep_args.end(), {"--workers", std::to_string(a.workers)});
  s.merge_args = {"--format", a.format};
  if (!a.output.empty() && a.output != "-") s.merge_args.insert(s.merge_args.end(), {"-o", absolute(a.output)});
  if (!a.plot.empty()) s.merge_args.insert(s.merge_args.end(), {"--plot", absolute(a.plot)});
  s.tasks = a.tasks;
  s.partition = a.partition;
  s.wait = !a.no_wait;
  s.print_only = a.print_sbatch;
  std::ostringstream quiet_err;
  slurm::submit_sweep_array(s, std::cout, a.quiet ? quiet_err : std::cerr);
}

void run_sweep(const SweepArgs& a, bool mtbf_given, bool weibull_given, bool spares_given) {
  const Format format = parse_format(a.format);
  if (!a.merge.empty()) {
    if (!a.shard.empty()) throw SweepError("--merge and --shard cannot be combined");
    const SweepResult r = merge_files(a.merge);
    emit(a.output, [&](std::ostream& out) { write_result(out, r, format); });
    if (!a.plot.empty()) write_plot(r, a.plot);
    return;
  }
  if (weibull_given && !mtbf_given) throw SweepError("--weibull-shape needs --mtbf");
  const std::optional<ShardSpec> shard = a.shard.empty() ? std::nullopt : std::optional(parse_shard(a.shard));
  const SweepOptions opts = build_options(a, mtbf_given, spares_given);
  const SweepPlan plan = make_plan(opts);  // refuses bad input here, before anything is submitted
  if (a.slurm) {
    if (static_cast<std::size_t>(a.tasks) > plan.points.size())
      throw SweepError("--tasks " + std::to_string(a.tasks) + " is more than the sweep's " +
                       std::to_string(plan.points.size()) + " points");
    return submit_to_slurm(a, mtbf_given, weibull_given, spares_given);
  }

  std::vector<int> indices;
  if (shard) {
    indices = shard_indices(plan, *shard);
  } else {
    for (const auto& p : plan.points) indices.push_back(p.index);
  }

  SweepProgress bar(std::cerr, ::isatty(STDERR_FILENO) == 1);
  RunControl control;
  control.workers = a.workers > 0 ? a.workers : default_workers();
  control.stop = util::stop_requested;
  if (!a.quiet)
    control.on_progress = [&bar](std::size_t done, std::size_t total, double s) { bar.update(done, total, s); };

  RunOutcome outcome;
  {
    // Ctrl-C stops the sweep only while points run (no SA_RESTART, so the
    // loop's poll wakes up at once); then SIGINT does what it did before.
    util::StopOnSigint guard;
    outcome = run_points(opts, plan, indices, control);
  }
  bar.finish();

  SweepResult r{plan, std::move(outcome.results), outcome.interrupted};
  if (shard)
    emit(a.output, [&](std::ostream& out) { out << shard_to_json(r, *shard).dump() << "\n"; });
  else
    emit(a.output, [&](std::ostream& out) { write_result(out, r, format); });
  if (!a.plot.empty() && !shard) write_plot(r, a.plot);
  if (outcome.interrupted)
    throw Exit(130, "sweep: interrupted; " + std::to_string(r.results.size()) + " of " +
                        std::to_string(indices.size()) + " points finished and shown (result marked partial)");
}

}  // namespace

void add_sweep(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "sweep", "Search process size and checkpoint interval for the lowest turnaround (cases IV/V, periodic checkpoints)");
  auto args = std::make_shared<SweepArgs>();
  cmd->add_option("--interval", args->interval,
                  "Checkpoint intervals (s of compute): MIN:MAX[:STEP], a list a,b,c, or auto "
                  "(15 log-spaced points from 0.25x to 4x each order's formula optimum)")
      ->capture_default_str();
  cmd->add_option("--sizes", args->sizes, "Matrix orders: A:B[:STEP] or a list (default: the paper's 17)");
  const FailureOptions failures = add_failure_options(cmd, args->failure_rate, args->mtbf, args->weibull_shape);
  auto *mtbf = failures.mtbf, *shape = failures.shape;
  cmd->add_option("--profile", args->profile, "Machine profile (default data/profiles/paper-p4.json)");
  cmd->add_option("--platform", args->platform, "SimGrid platform XML (default: built from the profile)");
  add_run_size_options(cmd, args->nodes, args->jobs_per_node, args->replications, args->seed);
  cmd->add_option("--case", args->case_name, "IV (restore on the same node) or V (on another node)")
      ->capture_default_str();
  auto* spares = add_v_placement_options(cmd, args->v_placement, args->spares);
  auto* max_chain = add_incremental_options(cmd, args->incremental, args->max_chain);
  add_dump_mode_option(cmd, args->dump_mode);
  add_storage_options(cmd, args->storage);
  auto* requeue = add_requeue_delay_option(cmd, args->requeue_delay);
  add_workers_option(cmd, args->workers, "Points run");
  cmd->add_option("--shard", args->shard, "Run only shard K/N of the points and write a shard file");
  cmd->add_option("--merge", args->merge, "Combine shard files into the unsplit result")->expected(1, -1);
  add_format_option(cmd, args->format);
  cmd->add_option("--plot", args->plot, "Draw turnaround vs interval into this PNG");
  cmd->add_option("-o,--output", args->output, "Write the result (or the shard file) here instead of stdout");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress on stderr");
  auto* on_slurm = cmd->add_flag("--slurm", args->slurm,
                                 "Run as a Slurm job array (one shard per task) plus a merge job, wait, print the result");
  on_slurm->excludes(cmd->get_option("--shard"))->excludes(cmd->get_option("--merge"));
  cmd->add_option("--partition", args->partition, "--slurm: the partition (default: the cluster's)")->needs(on_slurm);
  cmd->add_option("--tasks", args->tasks, "--slurm: array tasks, one shard each (1 to 10000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000))
      ->needs(on_slurm);
  auto* no_wait = cmd->add_flag("--no-wait", args->no_wait, "--slurm: submit, print the job ids and return")->needs(on_slurm);
  cmd->add_flag("--print-sbatch", args->print_sbatch, "--slurm: print the job scripts and sbatch commands, submit nothing")
      ->needs(on_slurm)
      ->excludes(no_wait);
  cmd->callback([args, mtbf, shape, spares, max_chain, requeue, &exit_code] {
    args->max_chain_given = max_chain->count() > 0;
    args->requeue_delay_given = if_given(requeue, args->requeue_delay);
    try {
      run_sweep(*args, mtbf->count() > 0, shape->count() > 0, spares->count() > 0);
    } catch (const slurm::SlurmError& e) {
      throw Exit(1, std::string("sweep: slurm: ") + e.what());
    } catch (const SweepWorkerError& e) {
      throw Exit(1, std::string("sweep: ") + e.what());
    } catch (const Exit&) {
      throw;
    } catch (const std::exception& e) {
      throw Exit(2, std::string("sweep: ") + e.what());
    }
    exit_code = 0;
  });
}

}  // namespace ckptsim::cli
