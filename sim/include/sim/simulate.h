// The SimGrid model of the paper's cluster (see docs/DESIGN.md, "Simulated
// turnaround"). One call runs all replications of one cell (order, case,
// checkpoint policy) in this process's SimGrid engine.
#pragma once
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/profile.h"

namespace ckptsim::sim {

struct SimError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// I: no checkpoint, no failure. II: checkpoints, no failure. III: failures,
// restart from scratch at once on the same node. IIIp: III plus the profile's
// reboot time. IV: checkpoints, a killed job restored on the same node.
// V: checkpoints, the image sent over the network to another node and restored there.
enum class Case { I, II, III, IIIp, IV, V };
std::string to_string(Case c);
Case parse_case(const std::string& s);  // throws SimError on an unknown case
std::vector<Case> all_cases();

struct FailureModel {
  enum class Kind { PerJob, Node };
  Kind kind = Kind::PerJob;
  double p = 0.46;             // PerJob: each job killed once with probability p,
                               // at a time uniform over its failure-free run
  double mtbf_s = 0;           // Node: per-node failures, exponential or Weibull
  double weibull_shape = 1.0;  // 1 = exponential
};

struct Scenario {
  models::Profile profile;
  std::filesystem::path platform_file;  // empty: platform built in code from the profile
  int nodes = 8;
  int jobs_per_node = 15;
  int order = 4100;
  Case c = Case::I;
  double checkpoint_at = 0.5;  // fraction of the job's compute; used when interval_s == 0
  double interval_s = 0;       // > 0: periodic checkpoints every interval_s of compute
  FailureModel failures;
  int replications = 30;
  uint64_t seed = 1;
  // XBT log settings for the story in simulated time, e.g. "ckptsim.thres:info"
  // (SimGrid's --log syntax, several separated by spaces). Empty: quiet.
  std::string log;
};

struct CellResult {
  int order = 0;
  Case c = Case::I;
  double interval_s = 0;
  double mean_turnaround_s = 0;  // mean over replications of the mean job turnaround
  double ci95_s = 0;             // half-width of the 95 % confidence interval
  std::vector<double> replication_means;
  std::vector<double> replication_makespans;  // replication start -> last job done
  double mean_makespan_s = 0;
  long kills = 0;       // job attempts ended by a failure, over all replications
  long migrations = 0;  // case V image transfers, over all replications
};

// Replication r draws its randomness only from (seed, order, r, node, job), never
// from the case or the checkpoint policy: cases and intervals are compared with
// common random numbers. Same inputs, same output. Throws SimError on bad input.
CellResult run_cell(const Scenario& s);

// Checks a scenario without running it; throws SimError naming the problem.
void validate(const Scenario& s);

// Runs cells in up to `workers` forked processes at once (one SimGrid engine
// each, as SimGrid allows one per process); results in input order, identical
// for any number of workers. run_cell(s) is run_cells({s}, 1)[0].
std::vector<CellResult> run_cells(const std::vector<Scenario>& cells, int workers = 1);

// The bundled data, found through the source tree this binary was built from.
std::filesystem::path default_profile_path();   // data/profiles/paper-p4.json
std::filesystem::path default_platform_path();  // data/platforms/paper-cluster.xml

}  // namespace ckptsim::sim
