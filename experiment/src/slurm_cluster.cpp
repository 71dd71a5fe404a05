#include "slurm_cluster.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "experiment/experiment.h"
#include "slurm/cluster.h"
#include "util/stop.h"
#include "util/subprocess.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {

std::string slurm_tool(const std::vector<std::string>& argv) {
  util::CommandResult r;
  try {
    r = util::run_command(argv);
  } catch (const std::runtime_error& e) {
    throw RunFailed("cannot run " + argv[0] + ": " + e.what());
  }
  std::string out = std::move(r.output);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (r.status != 0) throw RunFailed(argv[0] + " " + (argv.size() > 1 ? argv[1] : "") + " failed: " + out.substr(0, out.find('\n')));
  return out;
}

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

SlurmNodes find_partition_nodes(const std::string& partition) {
  SlurmNodes n;
  try {
    n.cluster = slurm::describe(slurm::check_cluster(partition));
  } catch (const slurm::SlurmError& e) {
    throw ExperimentError(e.what());
  }
  std::string listing;
  try {
    // One line per node and partition it is in; the default partition ends in '*'.
    listing = slurm_tool({"sinfo", "-h", "-N", "-o", "%N %P"});
  } catch (const RunFailed& e) {
    throw ExperimentError(std::string("cannot list the nodes: ") + e.what());
  }
  std::istringstream in(listing);
  for (std::string node, part; in >> node >> part;) {
    const bool is_default = !part.empty() && part.back() == '*';
    if (is_default) part.pop_back();
    if (partition.empty() ? !is_default : part != partition) continue;
    n.partition = part;
    if (std::find(n.names.begin(), n.names.end(), node) == n.names.end()) n.names.push_back(node);
  }
  if (n.names.empty())
    throw ExperimentError(partition.empty() ? "the cluster has no default partition with nodes; give --partition"
                                            : "partition " + partition + " has no nodes");
  return n;
}

namespace {

// The probe's jobs, cancelled however the check ends.
struct ProbeJobs {
  std::vector<std::string> ids;
  ~ProbeJobs() {
    for (const auto& id : ids) util::run_command({"scancel", id});
  }
};

// One KEY=value field of `scontrol show job` (JobState, ExitCode).
std::string job_field(const std::string& id, const std::string& key) {
  const std::string info = slurm_tool({"scontrol", "-o", "show", "job", id});
  const auto at = info.find(" " + key + "=");
  if (at == std::string::npos) return "";
  const auto from = at + key.size() + 2;
  return info.substr(from, info.find(' ', from) - from);
}

std::string job_state(const std::string& id) { return job_field(id, "JobState"); }

// The writer's exit code when the probe directory this host made is not there on its node.
constexpr int kProbeDirMissing = 3;

bool finished(const std::string& state) {
  return state == "COMPLETED" || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
         state == "NODE_FAIL" || state == "OUT_OF_MEMORY" || state == "BOOT_FAIL" || state == "DEADLINE";
}

}  // namespace

void check_shared_dir(const fs::path& dir, const SlurmNodes& nodes, const std::string& a, const std::string& b) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw ExperimentError("--shared-dir " + dir.string() + " is not a directory");
  std::string probe_dir = (dir / ".ckptsim-shared-XXXXXX").string();
  if (!::mkdtemp(probe_dir.data()))
    throw ExperimentError("--shared-dir " + dir.string() + " is not writable: cannot create a file in it");
  struct Remove {
    fs::path p;
    ~Remove() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } remove{probe_dir};
  // What the first job writes, and the second must find.
  std::random_device rd;
  const std::string token = std::to_string(rd()) + "-" + std::to_string(::getpid());
  const fs::path file = fs::path(probe_dir) / "written-on-node";
  const std::string q = shell_quoted(file.string());
  std::vector<std::string> sbatch = {"sbatch", "--parsable", "-J", "ckptsim-shared-probe", "-o", "/dev/null", "-e", "/dev/null"};
  if (!nodes.partition.empty()) sbatch.insert(sbatch.end(), {"-p", nodes.partition});
  ProbeJobs jobs;
  auto submit = [&](std::vector<std::string> extra, const std::string& script) {
    std::vector<std::string> argv = sbatch;
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--wrap=" + script);
    std::string id;
    try {
      id = slurm_tool(argv);
    } catch (const RunFailed& e) {
      throw ExperimentError(std::string("cannot submit the shared directory's probe: ") + e.what());
    }
    id = id.substr(0, id.find(';'));
    jobs.ids.push_back(id);
    return id;
  };
  const std::string writer = submit({"-w", a}, "test -d " + shell_quoted(probe_dir) + " || exit " +
                                                   std::to_string(kProbeDirMissing) + "; printf %s " +
                                                   shell_quoted(token) + " > " + q);
  const std::string reader =
      submit({"-w", b, "--dependency=afterok:" + writer}, "test \"$(cat " + q + " 2>/dev/null)\" = " + shell_quoted(token));
  // Both should run within seconds on an idle cluster; a busy one may queue them.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  std::string state;
  for (;;) {
    const std::string w = job_state(writer);
    if (finished(w) && w != "COMPLETED") {
      if (job_field(writer, "ExitCode") == std::to_string(kProbeDirMissing) + ":0")
        throw ExperimentError("--shared-dir " + dir.string() + " is not shared: a directory made there on this host is "
                              "not seen by a job on node " + a);
      throw ExperimentError("--shared-dir " + dir.string() + ": the probe job on node " + a + " could not write " +
                            file.string() + " (" + w + ")");
    }
    state = job_state(reader);
    if (finished(state)) break;
    if (util::stop_requested()) throw ExperimentError("interrupted while probing --shared-dir " + dir.string());
    if (std::chrono::steady_clock::now() > give_up)
      throw ExperimentError("--shared-dir " + dir.string() + ": the probe jobs on " + a + " and " + b +
                            " did not finish within 300 s (" + state + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (state != "COMPLETED")
    throw ExperimentError("--shared-dir " + dir.string() + " is not shared: a file written there by a job on node " + a +
                          " is not seen by a job on node " + b);
}

}  // namespace ckptsim::experiment
