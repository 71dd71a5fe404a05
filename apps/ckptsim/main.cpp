// ckptsim: checkpoint/restart of unmodified Linux programs, calibrated against
// this machine, driving a SimGrid model of a failing cluster.
#include <iostream>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"ckptsim: checkpoint/restart for unmodified Linux programs, and a calibrated "
               "simulator of a failing cluster"};
  app.require_subcommand(1);
  int exit_code = 0;
  ckptsim::cli::add_run(app, exit_code);
  ckptsim::cli::add_checkpoint(app, exit_code);
  ckptsim::cli::add_restart(app, exit_code);
  ckptsim::cli::add_calibrate(app, exit_code);
  ckptsim::cli::add_receive(app, exit_code);
  ckptsim::cli::add_image(app, exit_code);
  try {
    // Only simulate, sweep, experiment and the full --help need the SimGrid module.
    const std::string first = argc > 1 ? argv[1] : "";
    ckptsim::cli::add_sim_commands(app, exit_code,
                                   first == "simulate" || first == "sweep" || first == "experiment" || first == "--help" ||
                                       first == "-h" || first.empty());
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "ckptsim: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const ckptsim::cli::Exit& e) {
    if (*e.what()) std::cerr << "ckptsim: " << e.what() << "\n";
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "ckptsim: " << e.what() << "\n";
    return 2;
  }
  return exit_code;
}
