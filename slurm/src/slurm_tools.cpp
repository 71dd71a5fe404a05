#include "slurm_tools.h"

#include <stdexcept>

#include "slurm/sweep_array.h"  // SlurmError
#include "util/subprocess.h"

namespace ckptsim::slurm {

// Runs a Slurm tool (no shell); its output, or throws with what it said.
std::string capture(const std::vector<std::string>& argv) {
  util::CommandResult r;
  try {
    r = util::run_command(argv);
  } catch (const std::runtime_error& e) {
    throw SlurmError(std::string("cannot run ") + argv[0] + ": " + e.what());
  }
  std::string out = std::move(r.output);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  // One line: what the tool said first (sbatch, for one, repeats itself).
  if (r.status != 0) throw SlurmError(argv[0] + " failed: " + out.substr(0, out.find('\n')));
  return out;
}


}  // namespace ckptsim::slurm
