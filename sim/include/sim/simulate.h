// The SimGrid model of the paper's cluster (see docs/internals.md, "Simulated
// turnaround"). One call runs all replications of one cell (order, case,
// checkpoint policy) in this process's SimGrid engine.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
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
// "all" or a comma list ("III,IV,V"), as --case takes it in simulate and experiment.
std::vector<Case> parse_case_list(const std::string& spec);
std::vector<Case> all_cases();
bool takes_checkpoints(Case c);  // II, IV, V
bool has_failures(Case c);       // every case but I and II

struct FailureModel {
  enum class Kind { PerJob, Node };
  Kind kind = Kind::PerJob;
  double p = 0.46;             // PerJob: each job killed once with probability p,
                               // at a time uniform over its failure-free run
  double mtbf_s = 0;           // Node: per-node failures, exponential or Weibull
  double weibull_shape = 1.0;  // 1 = exponential
};

// Case V: where a killed job's image is restored.
//  Share: beside the next node's own job; the two time-share that node
//         (the model before placements existed; breaks one job per node).
//  Queue: at the front of the next node's queue; it starts when that node is free.
//  Spare: on one of `spares` spare nodes that only take migrated jobs, one at a
//         time each; it waits for the first spare to be free when none is.
enum class VPlacement { Share, Queue, Spare };
const char* to_string(VPlacement p);
VPlacement parse_v_placement(const std::string& s);  // throws std::invalid_argument naming the choices
inline constexpr const char* kVPlacementNames = "share, queue or spare";
inline constexpr VPlacement kDefaultVPlacement = VPlacement::Queue;  // docs/simulating.md, "Case V placement"
inline constexpr int kDefaultSpares = 1;  // spares when spare is chosen without --spares

// Where checkpoint images are written and read (docs/simulating.md, "Shared
// storage"). Local: each node's own disk (the paper's cluster). Shared: one
// parallel file system every node reaches over its own link; every concurrent
// dump, restore and copy shares its total bandwidth, and each node moves at
// most client_Bps (its link's bandwidth if 0 or more). A dump or restore moves
// the bytes that would take the profile's cost on the node's disk, so an
// uncontended file system as fast as the disk costs what the disk does; case
// V copies nothing (the image is already where every node can read it).
struct Storage {
  bool shared = false;
  double total_Bps = 0;
  double client_Bps = 0;  // 0: only the node's link limits it
};
// How a checkpoint is written (docs/simulating.md, "Dump mode"). InProcess:
// the job is stopped until its image is complete (the profile's dump_s; `run
// --no-fork`). Forked: the job is stopped only for the fork (the profile's
// forked.stop_s), then computes on while the fork writes the image
// (forked.write_s); a failure before the write is complete restores from the
// previous image (`run`'s default where the copies fit).
enum class DumpMode { InProcess, Forked };
const char* to_string(DumpMode m);

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
  VPlacement v_placement = kDefaultVPlacement;
  int spares = 0;  // spare nodes (only with VPlacement::Spare, then at least 1)
  // `run --incremental`: after a full dump, max_chain incremental ones, each
  // writing what the job changed since the previous (the profile's incremental
  // costs), then a full one again. Restores and copies still move the job's whole
  // image (a chain holds at least that much).
  bool incremental = false;
  int max_chain = 8;
  // Set with set_dump_mode (the default here is the model before forked
  // dumps were measured); dump_mode_why says how it was chosen.
  DumpMode dump_mode = DumpMode::InProcess;
  std::string dump_mode_why;
  Storage storage;
  // The scheduler's wait after a failure: a killed job's next attempt (cases
  // III, IIIp, IV, V) starts this much later (docs/simulating.md, "Requeue
  // delay"). Unset: the profile's scheduler.requeue_delay_s, else 0. Read it
  // through requeue_delay_s(scenario); set it with set_requeue_delay.
  std::optional<double> requeue_delay_s;
  int replications = 30;
  uint64_t seed = 1;
  // Tests: record every job attempt's stay on its node in CellResult::node_use.
  bool record_node_use = false;
  // XBT log settings for the story in simulated time, e.g. "ckptsim.thres:info"
  // (SimGrid's --log syntax, several separated by spaces). Empty: quiet.
  std::string log;
};

// --shared-storage MB/s|measured [--shared-client MB/s] on simulate and sweep:
// throws SimError (one line) for a client limit without shared storage, a
// bandwidth that is not a finite number > 0, a client limit above the total,
// or `measured` with a profile that has no shared file system measured
// (calibrate --shared-dir). Measured: the total is what the profile's
// concurrent writers got, the client limit what one writer got (unless given).
struct StorageChoice {
  std::optional<double> total_MBps;
  bool measured = false;
  std::optional<double> client_MBps;
};
void set_storage(Scenario& s, const StorageChoice& choice);
inline void set_storage(Scenario& s, std::optional<double> total_MBps, std::optional<double> client_MBps) {
  set_storage(s, StorageChoice{total_MBps, false, client_MBps});
}
// What an image transfer that costs `disk_s` on a node's disk costs alone on
// the scenario's storage (the node's disk: disk_s), with nobody else using it:
// the C and R the interval formulas see, which assume no contention.
double uncontended_image_io_s(const Scenario& s, double disk_s, bool write);
// "local disks", "shared file system 2000 MB/s (400 MB/s per node)".
std::string describe_storage(const Storage& st);

// One job attempt on one node (Scenario::record_node_use), restore included,
// until it completes, is killed or leaves. Nodes 0..nodes-1 are the compute
// nodes, nodes..nodes+spares-1 the spares. Times from the replication's start.
struct NodeUse {
  int replication = 0;
  int node = 0;
  int job = 0;
  double start_s = 0, end_s = 0;
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
  // Case V, queue and spare: migrated jobs that found no node free and waited,
  // and their waits added up (from the kill for spare, from the image's arrival
  // for queue, to the restore's start), over all replications.
  long migration_waits = 0;
  double migration_wait_s = 0;
  std::vector<NodeUse> node_use;  // only with Scenario::record_node_use
};

// Replication r draws its randomness only from (seed, order, r, node, job), never
// from the case or the checkpoint policy: cases and intervals are compared with
// common random numbers. Same inputs, same output. Throws SimError on bad input.
CellResult run_cell(const Scenario& s);

// Sets s.v_placement and s.spares from the command line's words: `placement`
// empty means the default; `spares` nullopt means --spares was not given
// (kDefaultSpares under spare). Throws SimError, one line, for an unknown
// placement, --spares without spare, a negative count, or spare with 0 spares.
void set_v_placement(Scenario& s, const std::string& placement, std::optional<int> spares);
// The placement's rule on spares: spare needs 1 or more, the others none
// (SimError, one line, naming the options).
void check_v_placement(VPlacement placement, int spares);
// "share", "queue", "spare (2 spare nodes)": for titles and headers.
std::string describe_v_placement(const Scenario& s);

// --incremental [--max-chain N] on simulate and sweep: throws SimError (one line)
// when the profile has no incremental costs (calibrate measures them) or N < 1.
void set_incremental(Scenario& s, bool incremental, std::optional<int> max_chain);
// --dump-mode on simulate and sweep, after set_incremental: "" models the
// mode `run` uses by default, forked where the profile has forked dump costs
// and the job's copies fit the node's memory (the library's room check), else
// in-process (and dump_mode_why says why, in one line); "forked" or
// "in-process" force it. With --incremental, forked also needs the profile's
// forked incremental costs. Throws SimError (one line) for another word, or
// for forked with a profile without the forked costs the scenario needs.
void set_dump_mode(Scenario& s, const std::string& requested);
// "" if the profile has the forked costs a forked model needs (full dumps;
// with incremental, the forked incremental ones too); else one phrase naming
// the profile and what it lacks, for a refusal or a title.
std::string missing_forked_costs(const models::Profile& p, bool incremental);
inline constexpr const char* kDumpModeNames = "in-process or forked";
// "forked (run's default)", "in-process (the profile has no forked dump costs: ...)".
std::string describe_dump_mode(const Scenario& s);
// What a full dump stops the job under the scenario's dump mode, and how
// long the fork then writes (0 in-process: the image is complete when the job resumes).
double full_dump_stop_s(const Scenario& s);
double full_dump_write_s(const Scenario& s);

// What checkpoint k (0-based, taken `since_s` of compute after the previous
// one) costs the job under the scenario's policy, and how long its fork then
// writes (0 in-process).
double checkpoint_cost_s(const Scenario& s, int k, double since_s);
double checkpoint_write_s(const Scenario& s, int k, double since_s);
// Whether the scenario's dumps at its order are forked: its dump mode, and
// the room check (the job's copies fit beside it).
bool dumps_forked(const Scenario& s);
// The mean over one chain (a full dump and max_chain incremental ones) at a
// fixed interval: the C the interval formulas see.
double mean_checkpoint_cost_s(const Scenario& s, double interval_s);

// The requeue delay the scenario runs with: its own (--requeue-delay), else
// the profile's (scheduler.requeue_delay_s), else 0.
double requeue_delay_s(const Scenario& s);
// --requeue-delay S on simulate and sweep (nullopt: not given, the profile's
// applies): throws SimError (one line) unless S is a finite number >= 0.
void set_requeue_delay(Scenario& s, std::optional<double> seconds);
// "requeue delay 30 s (profile)", "requeue delay 12.5 s (--requeue-delay)",
// or "" without one (delay 0): for titles and headers.
std::string describe_requeue_delay(const Scenario& s);

// Checks a scenario without running it (ranges, the profile at its order, the
// platform file); throws SimError naming the problem. The event budget is
// checked over all cells of a run together (check_event_budget).
void validate(const Scenario& s);

// ---- What the model accepts --------------------------------------------------

// Weibull shapes whose draws stay finite and positive (tgamma(1 + 1/k) and
// e^(1/k) in RandomStream) and that SimGrid can sleep on; 0.1 is already far
// burstier than any failure log (measured shapes lie around 0.5 to 0.8).
inline constexpr double kMinWeibullShape = 0.1;
inline constexpr double kMaxWeibullShape = 10;
inline constexpr const char* kWeibullShapeRange = "0.1 to 10";

// An estimate of the simulated events (job segments, dumps, restores, failures)
// the cell needs over all its replications: jobs x replications x (segments
// between checkpoints, scaled by the work redone after failures, + failures per
// job), with the expected run time from analytic::expected_time for node
// failures. +inf when that diverges (an MTBF far below the job or its interval).
double estimated_events(const Scenario& s);

// The most events one run (all its cells or points together) may need. The
// model runs about 1e6 estimated events per core-second on the 2-core VM of
// 2026 (the paper's default run: 4.1e6 events, 4.5 core-seconds), so this is
// about 8 core-minutes; the default runs need under 1 % of it.
inline constexpr double kMaxEvents = 5e8;

// Throws SimError when the cells together need more than kMaxEvents: one line
// saying why (too short an interval, too short an MTBF, too many jobs) and what
// would be accepted with everything else unchanged. A caller whose cells depend
// on the MTBF (the sweep's Young, Daly and auto intervals) passes cells_for_mtbf
// so the MTBF it suggests is found with the cells that MTBF would give.
void check_event_budget(const std::vector<Scenario>& cells,
                        const std::function<std::vector<Scenario>(double mtbf_s)>& cells_for_mtbf = {});

// Runs cells in up to `workers` forked processes at once (one SimGrid engine
// each, as SimGrid allows one per process); results in input order, identical
// for any number of workers. run_cell(s) is run_cells({s}, 1)[0]. Validates
// every cell and check_event_budget(cells) before starting anything.
std::vector<CellResult> run_cells(const std::vector<Scenario>& cells, int workers = 1);

// The bundled data, found through the source tree this binary was built from.
std::filesystem::path default_profile_path();   // data/profiles/paper-p4.json
std::filesystem::path default_platform_path();  // data/platforms/paper-cluster.xml

}  // namespace ckptsim::sim
