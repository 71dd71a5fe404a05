// `ckptsim checkpoint`: ask a running job for a checkpoint.
#include <cmath>
#include <iostream>

#include "ckpt/control.h"
#include "commands.h"

namespace ckptsim::cli {

void add_checkpoint(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("checkpoint", "Ask a running job for a checkpoint");
  struct Args {
    int pid = 0;
    bool wait = false;
    double timeout = 600;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("pid", args->pid, "process id of the job")->required()->check(CLI::Range(1, 4194304));
  cmd->add_flag("--wait", args->wait, "return when the image is complete and print its path");
  cmd->add_option("--timeout", args->timeout, "with --wait: give up after S seconds (0.001 to 1000000)")
      ->check(FiniteRange(0.001, ckpt::kMaxDurationS))
      ->capture_default_str();
  cmd->callback([&exit_code, args] {
    // In range (checked above), so the product fits easily.
    const auto timeout = std::chrono::milliseconds(std::llround(args->timeout * 1000));
    try {
      const auto result = ckpt::request_checkpoint(args->pid, args->wait, timeout);
      if (result.was_stopped)
        std::cerr << "ckptsim: checkpoint: process " << args->pid
                  << " was stopped: continued for its dump, which stops it again as soon as the dump no longer needs "
                     "it running (a forked dump's writer completes the image meanwhile)\n";
      if (args->wait) std::cout << result.image.string() << "\n";
      exit_code = 0;
    } catch (const ckpt::CkptError& e) {
      // Bad input (no such job, not under libckpt) and failed checkpoints alike: one line.
      throw Exit(args->wait && std::string(e.what()).find("failed") != std::string::npos ? 1 : 2,
                 std::string("checkpoint: ") + e.what());
    }
  });
}

}  // namespace ckptsim::cli
