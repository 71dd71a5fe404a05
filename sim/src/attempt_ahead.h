// An attempt told ahead. Where nothing else uses a node's CPU or disk (the
// built-in platform, one job at a time per node, images on the node's own
// disk), each step of an attempt -- restore, compute, dump, a forked write --
// takes a time known when the attempt starts. The model then waits once for
// the whole attempt instead of once per step (a SimGrid activity each, the
// simulator's cost at 10,000 nodes), and a failure that ends it early leaves
// the job where the step-by-step run would have left it at that time.
//
// Only without the story (--log at info): the story tells each step at its
// own simulated time, so it is told step by step.
#pragma once
#include <cstdint>
#include <vector>

#include "inline_list.h"
#include "job_costs.h"

namespace ckptsim::sim {

// The bytes a step that costs `seconds` on a disk of `Bps` moves: what the
// model writes, reads or sends for a dump, restore or forked write.
uint64_t io_bytes(double seconds, double Bps);

// What an attempt leaves a job with (replication.h's Job, in part).
// The doubles first, then the ints: 40 bytes, not 48 (one per job, millions
// at scale).
struct JobProgress {
  double checkpointed = 0;  // compute saved by the last complete image
  // A forked dump's image still being written (pending_node < 0: none).
  double pending_checkpointed = 0;
  double pending_ready_at = 0;
  int image_node = -1;      // where the last complete image is (-1: none)
  int pending_node = -1;
  bool done = false;
};

// Where the attempt runs and how fast: the node's CPU speed and its disk's.
struct AttemptSite {
  int node = 0;
  double flops_per_s = 0, write_Bps = 0, read_Bps = 0;
};

class AttemptAhead {
 public:
  // The attempt that starts at `now` on `site`, from `from` seconds of
  // compute (restored from its image first when `restore`).
  AttemptAhead(const JobCosts& costs, const JobProgress& before, const AttemptSite& site, double now, double from,
               bool restore);

  double start() const { return start_; }
  double end() const { return end_; }
  // The job's progress and the story events told by time t (a failure's):
  // what completed at or before t. At end(), the attempt's whole result.
  JobProgress progress_at(double t) const;
  int stories_by(double t) const;
  JobProgress finished() const { return changes_.empty() ? before_ : changes_.back().progress; }
  int stories() const { return static_cast<int>(story_at_.size()); }

 private:
  struct Change {
    double at;
    JobProgress progress;
  };
  void change(double at, const JobProgress& p) { changes_.push_back({at, p}); }

  JobProgress before_;
  // Room inside for a checkpoint or two (the common case) without the heap.
  InlineList<Change, 4> changes_;  // in time order
  InlineList<double, 4> story_at_;  // when each story event is told, in order
  double start_ = 0, end_ = 0;
};

}  // namespace ckptsim::sim
