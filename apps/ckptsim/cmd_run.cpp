// `ckptsim run`: start a program with the checkpoint library preloaded and
// exit with its status.
#include "ckpt/control.h"
#include "ckpt/signal_rule.h"
#include "commands.h"

namespace ckptsim::cli {

void add_run(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("run", "Run a program with the checkpoint library preloaded");
  struct Args {
    std::string dir = "ckpt-images";
    std::string signal = "QUIT";
    double interval = 0;
    unsigned keep = 2;
    bool fork = false;
    std::vector<std::string> argv;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--dir", args->dir, "image directory (CKPT_DIR), created 0700")
      ->capture_default_str()
      ->check([](const std::string& d) { return d.empty() ? std::string("the directory must not be empty") : ""; });
  cmd->add_option("--signal", args->signal,
                  std::string("checkpoint signal, name or number: ") + ckpt::kCheckpointSignals)
      ->capture_default_str();
  cmd->add_option("--interval", args->interval,
                  "send the signal every SECONDS, once the job catches it (0: never; else 0.0001 to 1000000)")
      ->check(FiniteRange(ckpt::kMinIntervalS, ckpt::kMaxDurationS, true));
  cmd->add_option("--keep", args->keep,
                  "complete images kept, the newest (older ones are removed once a new one is complete)")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  cmd->add_flag("--fork", args->fork,
                "stop the job only to park its threads, copy its open files and fork; the fork writes the memory "
                "while the job runs on (pages the job writes meanwhile are duplicated)");
  cmd->add_option("prog", args->argv, "PROG ARGS... (after --)")->required();
  cmd->positionals_at_end();
  cmd->callback([&exit_code, args] {
    ckpt::RunOptions opts;
    opts.dir = args->dir;
    opts.signal = ckpt::parse_signal(args->signal);
    opts.interval_s = args->interval;
    opts.keep = args->keep;
    opts.fork = args->fork;
    opts.argv = args->argv;
    exit_code = ckpt::run_preloaded(opts);
  });
}

}  // namespace ckptsim::cli
