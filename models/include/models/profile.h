// A machine profile: what the simulator needs to know about one kind of node,
// measured by `ckptsim calibrate` (or derived from the paper's table). All
// times in seconds, all sizes in bytes. See docs/internals.md, "Profiles".
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ckptsim::models {

struct ProfileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// y = sum_i coef[i] * x^power[i]. Cost curves are linear (powers {0,1});
// the job's compute time is cubic in the matrix order (powers {0,2,3}).
struct Curve {
  std::vector<int> powers;
  std::vector<double> coef;
  std::string x_unit, y_unit;  // e.g. "bytes" -> "s"
  double r2 = 1.0;             // goodness of fit on the points it came from
  std::string why;             // why this model was chosen (free text)
  double operator()(double x) const;
};

struct FitResult {
  Curve curve;
  std::vector<double> residuals;  // y - fitted, in input order
};

// Least squares (Eigen, QR) of y against the given powers of x. Throws
// ProfileError if there are fewer points than coefficients.
FitResult fit_powers(const std::vector<double>& x, const std::vector<double>& y,
                     const std::vector<int>& powers);

// A node's memory and what happens past its knee (docs/internals.md, "Memory").
// While a job is stopped for its dump (or being restored) the node must hold
// the process *and* the image passing through the page cache; compute needs
// the process alone. Whatever of that exceeds ram_bytes - reserved_bytes is
// paged out and back: those bytes move at swap_Bps instead of the curve's rate.
// ram_bytes == 0: memory not known, no memory term (the behaviour of every
// profile written before it existed).
struct Memory {
  double ram_bytes = 0;       // per node (parameter 1: a fact of the machine)
  double swap_bytes = 0;      // recorded only (0: not known); not in the cost
  double reserved_bytes = 0;  // RAM neither the job nor its I/O can use: kernel, daemons (parameter 2)
  double swap_Bps = 0;        // rate of the excess past the knee (parameter 3)
  std::string why;            // where the numbers come from
  bool known() const { return ram_bytes > 0; }
  double usable_bytes() const { return ram_bytes - reserved_bytes; }
  // Bytes of `need` that do not fit (0 without a known memory).
  double excess_bytes(double need) const;
  // Seconds the excess of `need` adds to an operation.
  double excess_s(double need) const;
};

// A cost of incremental dumps, fitted by least squares with every coefficient
// >= 0: fixed + per byte the dump writes + per byte of the process.
struct IncrementalCost {
  double fixed_s = 0;
  double s_per_written_byte = 0;
  double s_per_process_byte = 0;
  double r2 = 0;  // of the fit
  double operator()(double process, double written) const {
    return fixed_s + s_per_written_byte * written + s_per_process_byte * process;
  }
};

// Forked incremental dumps (`run --incremental`, forked as `run` is by
// default): the job stopped to fork (stop), and signal to image complete while
// the fork writes what changed (write), each an IncrementalCost fitted on the
// forked incremental dumps `calibrate` measured. Unknown (dumps == 0): the
// model's incremental dumps are in-process ones.
struct ForkedIncremental {
  IncrementalCost stop;
  IncrementalCost write;
  int dumps = 0;  // how many the fits saw
  std::string why;
  bool known() const { return dumps > 0; }
};

// Incremental images (`run --incremental`), measured by `ckptsim calibrate`
// (docs/internals.md, "Incremental dumps"). A dump taken `since` seconds of compute
// after the previous one writes the pages the job changed meanwhile,
// min(dirty·since, image), and checks every other page: page checksums read the
// whole process. Its cost to the job is fixed + per written byte + per process
// byte, fitted by least squares on the measured incremental dumps.
struct Incremental {
  Curve dirty_Bps;                 // x = matrix order n -> bytes changed per second of compute
  IncrementalCost stop;            // an in-process incremental dump: signal to image complete
  int max_chain = 8;               // the chain calibrate measured with (run's default)
  std::string why;
  ForkedIncremental forked;        // unknown: incremental dumps are modelled in-process
  bool known() const { return !dirty_Bps.coef.empty(); }
};

// Fits Incremental from measured incremental dumps: per dump the job's order,
// process bytes, bytes written, compute since the previous dump and the stop
// it cost. Needs at least 3 dumps; throws ProfileError otherwise.
struct IncrementalDump {
  double order = 0, process_bytes = 0, written_bytes = 0, since_s = 0, cost_s = 0;
};
Incremental fit_incremental(const std::vector<IncrementalDump>& dumps);
// The cost part of that fit alone (cost_s against written and process bytes),
// as the forked incremental stop and write are fitted. Needs 3 dumps.
IncrementalCost fit_incremental_cost(const std::vector<IncrementalDump>& dumps);

// Forked dumps (`run`'s default where there is room, `run --fork`), measured by
// `ckptsim calibrate` (docs/internals.md, "Forked dumps"). The job is stopped
// only to park its threads, copy its open files and fork (stop_s, against the
// process: the page tables are copied); the fork then writes the image from its
// copy-on-write snapshot while the job computes on (write_s, against the image:
// signal to image complete). Until the write is complete the previous image is
// the one a failure restores from. Unknown: the model uses in-process dumps.
struct Forked {
  Curve stop_s;   // x = process bytes -> seconds the job is stopped
  Curve write_s;  // x = image bytes -> signal sent -> image complete (the fork's write)
  std::string why;
  bool known() const { return !stop_s.coef.empty() && !write_s.coef.empty(); }
};

// A shared file system (e.g. an NFS or parallel file system mount) measured
// by `calibrate --shared-dir DIR`: what `simulate --shared-storage measured`
// puts every node's images on. From one machine, the total is what several
// concurrent writers got together (a lower bound of the file system's own
// total), the per-client rate what one writer got.
struct SharedStorage {
  double write_Bps = 0;         // concurrent writers together, with fsync
  double read_Bps = 0;          // concurrent readers together, pages dropped first
  double client_write_Bps = 0;  // one writer alone
  int writers = 0;              // how many wrote at once
  std::string fs;               // its file system type
  bool known() const { return write_Bps > 0; }
};

// What a batch scheduler (Slurm) adds to a failure, measured by the experiment
// on a scheduler or written by hand: "scheduler": {"requeue_delay_s": X} in the
// profile. requeue_delay_s: after a failure kills a job, its next attempt
// starts this much later (the requeued job's wait in the queue); unset: 0, no
// scheduler in the way (every profile written before it existed).
struct Scheduler {
  std::optional<double> requeue_delay_s;  // seconds, finite, >= 0
  std::string why;                        // where the number comes from
  bool known() const { return requeue_delay_s.has_value() || !why.empty(); }
};

struct Profile {
  std::string name;
  std::string source;              // "calibrate" or "paper-table"
  nlohmann::json machine;          // cpu, kernel, fs, link... free form
  std::vector<std::string> assumptions;

  Curve compute_s;      // x = matrix order n -> failure-free compute time of the job
  Curve process_bytes;  // x = matrix order n -> process size (RSS)
  Curve image_bytes;    // x = process bytes  -> checkpoint image size
  Curve dump_s;         // x = image bytes -> checkpoint (dump) time, job stopped
  Curve copy_s;         // x = image bytes -> copy of the image to another node
  Curve restore_s;      // x = image bytes -> restart start -> job running again

  double link_bandwidth_Bps = 125e6;  // node-to-node link (Gigabit Ethernet)
  double link_latency_s = 1e-4;
  double disk_write_Bps = 0;          // 0: not measured
  double disk_read_Bps = 0;
  double reboot_s = 0;                // node downtime after a failure (case IIIp)
  Memory memory;                      // RAM, swap, the knee; unknown: curves alone
  Incremental incremental;            // unknown: full dumps only
  Forked forked;                      // unknown: in-process dumps only
  SharedStorage shared_storage;       // unknown: not measured
  Scheduler scheduler;                // unknown: no requeue delay
  nlohmann::json measurements = nlohmann::json::array();  // raw rows

  // Costs of one job with these sizes: the curve plus the memory term.
  // Dump and restore need process + image in memory, compute the process.
  double compute_cost_s(double order, double process) const {
    return compute_s(order) + memory.excess_s(process);
  }
  double dump_cost_s(double process, double image) const {
    return dump_s(image) + memory.excess_s(process + image);
  }
  double restore_cost_s(double process, double image) const {
    return restore_s(image) + memory.excess_s(process + image);
  }

  // A forked dump of a process: what it stops the job, and how long its fork
  // writes (the job computing meanwhile). No memory term: a forked dump is
  // taken only where its copies fit (the library's room check).
  double forked_stop_cost_s(double process) const { return forked.stop_s(process); }
  double forked_write_s(double image) const { return forked.write_s(image); }
  // The library's room check, in the model: the job's copies (at most the
  // process again) fit beside it in the node's usable memory (unknown memory: yes).
  bool forked_fits(double process) const { return !memory.known() || 2 * process <= memory.usable_bytes(); }

  // An incremental dump that writes `written` bytes of a process.
  double incremental_dump_cost_s(double process, double written) const {
    return incremental.stop(process, written) + memory.excess_s(process + written);
  }
  // A forked incremental dump: what it stops the job, and signal to image
  // complete (no memory term, as forked full dumps: taken only where they fit).
  double forked_incremental_stop_s(double process, double written) const {
    return incremental.forked.stop(process, written);
  }
  double forked_incremental_write_s(double process, double written) const {
    return incremental.forked.write(process, written);
  }

  // Convenience: the job of matrix order n.
  double job_process_bytes(double n) const { return process_bytes(n); }
  double job_compute_s(double n) const { return compute_cost_s(n, process_bytes(n)); }
  double job_image_bytes(double n) const { return image_bytes(process_bytes(n)); }
  double job_dump_s(double n) const { return dump_cost_s(process_bytes(n), job_image_bytes(n)); }
  double job_copy_s(double n) const { return copy_s(job_image_bytes(n)); }
  double job_restore_s(double n) const { return restore_cost_s(process_bytes(n), job_image_bytes(n)); }
  // What the job changes in `since` seconds of compute: never more than its image.
  double job_written_bytes(double n, double since_s) const;
  double job_forked_stop_s(double n) const { return forked_stop_cost_s(process_bytes(n)); }
  double job_forked_write_s(double n) const { return forked_write_s(job_image_bytes(n)); }
  double job_incremental_dump_s(double n, double since_s) const {
    return incremental_dump_cost_s(process_bytes(n), job_written_bytes(n, since_s));
  }
  double job_forked_incremental_stop_s(double n, double since_s) const {
    return forked_incremental_stop_s(process_bytes(n), job_written_bytes(n, since_s));
  }
  double job_forked_incremental_write_s(double n, double since_s) const {
    return forked_incremental_write_s(process_bytes(n), job_written_bytes(n, since_s));
  }
};

nlohmann::json to_json(const Profile& p);
// Validates (schema version, required curves, finite non-negative values):
// throws ProfileError with one line naming the problem.
Profile profile_from_json(const nlohmann::json& j);
Profile load_profile(const std::filesystem::path& path);
void save_profile(const Profile& p, const std::filesystem::path& path);

// Fits cost(i) = b*bytes(i) + max(0, need(i) - usable)/swap_Bps: the knee
// (usable = ram - reserved, searched on a grid, at least min_usable_bytes and
// with two points past it) and the two rates by least squares, both positive.
// Without a knee that cuts the residual sum of squares by more than half:
// knee == false, cost = b*bytes, memory has only ram_bytes.
struct KneeFit {
  Memory memory;
  double s_per_byte = 0;          // b: the rate below the knee
  bool knee = false;
  double sse = 0, sse_linear = 0;  // with the chosen model, with b*bytes alone
  double r2 = 1;                   // of the chosen model: 1 - sse / (cost's sum of squares about its mean)
  std::vector<double> residuals;  // cost - fitted, in input order
};
KneeFit fit_memory_knee(const std::vector<double>& bytes, const std::vector<double>& need,
                        const std::vector<double>& cost, double ram_bytes, double min_usable_bytes);

// The paper's hardware, from its Table I (cases I and II), with the stated
// assumptions for what the paper does not publish (restore, copy).
Profile profile_from_paper_table(const std::filesystem::path& csv);

// "2100:4800", "2100:4800:300", "2100,2500,4100" -> orders. Throws ProfileError
// for bad specs (A > B, zero, non-numbers, step <= 0, empty).
std::vector<int> parse_sizes(const std::string& spec, int default_step = 100);

}  // namespace ckptsim::models
