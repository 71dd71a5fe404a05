#include "slurm/cluster.h"

#include <stdlib.h>

#include <fstream>
#include <sstream>

#include "slurm_tools.h"

namespace fs = std::filesystem;

namespace ckptsim::slurm {

namespace {

constexpr char kSystemConf[] = "/etc/slurm/slurm.conf";
constexpr char kLocalDefaultDir[] = "/tmp/ckptsim-slurm";  // scripts/slurm-local.sh's default DIR

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

// The script's slurmctld, alive: its pid file names a process whose program is slurmctld.
bool local_controller_runs(const fs::path& dir) {
  const std::string pid = first_line(dir / "slurmctld.pid");
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return false;
  return first_line("/proc/" + pid + "/comm") == "slurmctld";
}

fs::path local_dir(const fs::path& given) {
  if (!given.empty()) return given;
  const char* env = std::getenv("CKPTSIM_SLURM_DIR");
  return env && *env ? fs::path(env) : fs::path(kLocalDefaultDir);
}

}  // namespace

ClusterChoice find_cluster(const fs::path& local) {
  if (const char* conf = std::getenv("SLURM_CONF"); conf && *conf) {
    // Slurm's tools retry a missing SLURM_CONF for a minute: say it at once.
    if (!fs::exists(conf)) throw SlurmError(std::string("no Slurm configuration at SLURM_CONF=") + conf);
    return {conf, "SLURM_CONF"};
  }
  if (fs::exists(kSystemConf)) return {kSystemConf, "the system's"};
  const fs::path dir = local_dir(local);
  const fs::path conf = dir / "slurm.conf";
  if (fs::exists(conf) && local_controller_runs(dir)) {
    // The tools this process runs (sbatch, scontrol, squeue) read it from here.
    ::setenv("SLURM_CONF", conf.c_str(), 1);
    return {conf, "the local cluster of scripts/slurm-local.sh"};
  }
  throw SlurmError("no Slurm cluster: SLURM_CONF is not set, there is no " + std::string(kSystemConf) +
                   ", and no cluster started by scripts/slurm-local.sh runs in " + dir.string());
}

std::string describe(const ClusterChoice& c) {
  if (c.why == "SLURM_CONF") return "SLURM_CONF=" + c.conf.string();
  return "slurm.conf " + c.conf.string() + " (" + c.why + ")";
}

ClusterChoice check_cluster(const std::string& partition) {
  const ClusterChoice cluster = find_cluster();
  try {
    capture({"scontrol", "ping"});
  } catch (const SlurmError& e) {
    std::string said = e.what();
    said = said.substr(0, said.find('\n'));
    throw SlurmError("no Slurm controller answers (tried `scontrol ping` with " + describe(cluster) + "): " + said);
  }
  if (partition.empty()) return cluster;
  std::string names;
  try {
    names = capture({"sinfo", "-h", "-o", "%P"});
  } catch (const SlurmError& e) {
    throw SlurmError(std::string("cannot list the partitions: ") + e.what());
  }
  std::string listed;
  bool found = false;
  std::istringstream in(names);
  for (std::string name; in >> name;) {
    if (!name.empty() && name.back() == '*') name.pop_back();  // the default partition
    found |= name == partition;
    listed += (listed.empty() ? "" : ", ") + name;
  }
  if (!found) throw SlurmError("partition " + partition + " does not exist (this cluster has: " + listed + ")");
  return cluster;
}

}  // namespace ckptsim::slurm
