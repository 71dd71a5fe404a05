// `ckptsim run`: start a program with the checkpoint library preloaded and
// exit with its status.
#include <cstdio>

#include "ckpt/control.h"
#include "ckpt/signal_rule.h"
#include "commands.h"
#include "models/interval.h"
#include "restart/restart.h"
#include "slurm/resume.h"

namespace ckptsim::cli {

namespace {

struct RunArgs {
  std::string dir = image_format::kDefaultDir;
  std::string signal = "QUIT";
  std::string interval = "0";
  double mtbf = 0;
  unsigned keep = 2;
  bool fork = false;     // --fork: accepted, the default anyway
  bool no_fork = false;  // --no-fork: in-process dumps
  bool incremental = false;
  unsigned max_chain = 8;
  std::string dirty;
  bool resume = false;
  bool checkpoint_on_term = false;
  bool requeue = false;
  std::vector<std::string> argv;
};

void add_run_options(CLI::App* cmd, RunArgs& a) {
  cmd->add_option("--dir", a.dir, "image directory (CKPT_DIR), created 0700")
      ->capture_default_str()
      ->check([](const std::string& d) { return d.empty() ? std::string("the directory must not be empty") : ""; });
  cmd->add_option("--signal", a.signal,
                  std::string("checkpoint signal, name or number: ") + ckpt::kCheckpointSignals)
      ->capture_default_str();
  cmd->add_option("--interval", a.interval,
                  "send the signal every SECONDS, once the job catches it (0: never; else 0.0001 to 1000000), or "
                  "auto: Daly's interval from each dump's measured cost and --mtbf, chosen again after every dump")
      ->check(CLI::IsMember({"auto"}) | FiniteRange(ckpt::kMinIntervalS, ckpt::kMaxDurationS, true));
  cmd->add_option("--mtbf", a.mtbf, "with --interval auto: the job's mean time between failures, in seconds")
      ->check(FiniteRange(1e-3, 1e9));
  cmd->add_option("--keep", a.keep,
                  "complete images kept, the newest (older ones are removed once a new one is complete)")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  auto* fork = cmd->add_flag(
      "--fork", a.fork,
      "the default: stop the job only to park its threads, copy its open files and fork; the fork writes the "
      "memory while the job runs on (pages the job writes meanwhile are duplicated). Where the copies would not "
      "fit in free memory a dump is written in-process, and the job's log says so once");
  cmd->add_flag("--no-fork", a.no_fork,
                "write every dump in-process: the job is stopped until its image is complete (no second process, "
                "no duplicated pages)")
      ->excludes(fork);
  auto* incremental = cmd->add_flag(
      "--incremental", a.incremental,
      "write only the pages changed since the job's previous image, plus a reference to it (restore reads the "
      "chain; `ckptsim image flatten` makes one standalone image)");
  cmd->add_option("--max-chain", a.max_chain, "incremental images on one full image, then a full dump")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str()
      ->needs(incremental);
  cmd->add_option("--dirty", a.dirty,
                  "how an incremental dump finds the changed pages: kernel (the kernel's write tracking, "
                  "userfaultfd + PAGEMAP_SCAN, Linux >= 6.7), checksum (every page hashed while the job is "
                  "stopped), auto (the kernel where it works; the default)")
      ->check(CLI::IsMember({"auto", "kernel", "checksum"}))
      ->needs(incremental);
  cmd->add_flag("--resume", a.resume,
                "restore the job from DIR's newest complete image of this same command, if there is one, "
                "else start it (one batch script for the first run and every requeue)");
  auto* on_term = cmd->add_flag(
      "--checkpoint-on-term", a.checkpoint_on_term,
      "on SIGTERM (preemption, scancel) or the checkpoint signal sent to run itself: checkpoint the job, wait "
      "for the image, kill the job and exit 75");
  cmd->add_flag("--requeue", a.requeue,
                "inside a Slurm job: after --checkpoint-on-term stopped the job, `scontrol requeue` it")
      ->needs(on_term);
  cmd->add_option("prog", a.argv, "PROG ARGS... (after --)")->required();
  cmd->positionals_at_end();
}

ckpt::RunOptions run_options(const RunArgs& a) {
  ckpt::RunOptions opts;
  opts.dir = a.dir;
  opts.signal = ckpt::parse_signal(a.signal);
  if (a.interval == "auto") {
    if (!(a.mtbf > 0))
      throw Exit(2, "run: --interval auto needs the job's mean time between failures: add --mtbf SECONDS "
                    "(e.g. --mtbf 86400 for one failure a day)");
    const models::AutoInterval rule = models::daly_auto_interval(a.mtbf);
    opts.auto_interval = {[rule](double c) { return rule.next(c); }, [rule](double c) { return rule.explain(c); }};
  } else {
    if (a.mtbf > 0) throw Exit(2, "run: --mtbf is used only with --interval auto");
    opts.interval_s = std::stod(a.interval);
  }
  opts.keep = a.keep;
  // Forked by default (docs/checkpointing.md, "Forked dumps"): the job is
  // stopped 0.05-0.1x as long; the library's room check still writes
  // in-process where the copies would not fit.
  opts.fork = !a.no_fork;
  opts.incremental = a.incremental;
  opts.max_chain = a.max_chain;
  opts.dirty = a.dirty;
  opts.argv = a.argv;
  opts.checkpoint_on_term = a.checkpoint_on_term;
  return opts;
}

int run_job(const RunArgs& a) {
  const ckpt::RunOptions opts = run_options(a);
  int exit_code = 0;
  try {
    exit_code = a.resume ? slurm::run_or_resume(opts) : ckpt::run_preloaded(opts);
  } catch (const slurm::OtherCommand& e) {
    throw Exit(2, std::string("run: ") + e.what());
  } catch (const restart::RestoreError& e) {
    throw Exit(3, std::string("run: --resume: ") + e.what() + " (restore abandoned, nothing left running)");
  } catch (const restart::RestoreBusy& e) {
    throw Exit(4, std::string("run: --resume: ") + e.what());
  }
  std::string why;
  if (a.requeue && exit_code == ckpt::kExitCheckpointed && !slurm::requeue_this_job(&why))
    std::fprintf(stderr, "ckptsim: run: --requeue: %s\n", why.c_str());
  return exit_code;
}

}  // namespace

void add_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Run a program with the checkpoint library preloaded");
  auto args = std::make_shared<RunArgs>();
  add_run_options(cmd, *args);
  cmd->callback([&exit_code, args] { exit_code = run_job(*args); });
}

}  // namespace ckptsim::cli
