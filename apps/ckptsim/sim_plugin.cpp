// Loads simulate/sweep from libckptsim-sim.so only when they are asked for, so
// the checkpoint/restart commands start without SimGrid (and the ns-3 libraries
// Debian's SimGrid links), which would add ~50 ms to every restart.
#include <dlfcn.h>

#include <filesystem>
#include <string>

#include "commands.h"

namespace ckptsim::cli {

namespace {

std::filesystem::path plugin_path() {
  if (const char* env = std::getenv("CKPTSIM_SIM_PLUGIN"); env && *env) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::filesystem::path(".") : exe.parent_path()) / "libckptsim-sim.so";
}

void add_placeholder(CLI::App& app, const char* name, const char* what) {
  app.add_subcommand(name, what)->allow_extras();
}

}  // namespace

void add_sim_commands(CLI::App& app, int& exit_code, bool load) {
  if (!load) {
    add_placeholder(app, "simulate", "Simulate the paper's cluster with failures");
    add_placeholder(app, "sweep", "Search process size and checkpoint interval for the lowest turnaround");
    add_placeholder(app, "experiment", "Run the paper's cases for real here and compare with the simulator");
    return;
  }
  const auto path = plugin_path();
  // Never closed: the subcommands' callbacks live in it until exit.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw Exit(1, "cannot load the simulator module: " + std::string(::dlerror()));
  using AddFn = void (*)(CLI::App*, int*);
  auto add = reinterpret_cast<AddFn>(::dlsym(handle, "ckptsim_add_sim_commands"));
  if (!add) throw Exit(1, "the simulator module " + path.string() + " has no entry point");
  add(&app, &exit_code);
}

}  // namespace ckptsim::cli
