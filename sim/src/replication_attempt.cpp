// One job attempt on its node (replication.h tells the whole story): its
// restore, its compute and checkpoints, in process or forked (the fork's
// image the restore point only once written), and the image I/O on the
// node's disk or the shared file system; or, where nothing shares the node
// and the story is not told, the same attempt told ahead as one wait.
#include "replication.h"

XBT_LOG_EXTERNAL_DEFAULT_CATEGORY(ckptsim);

namespace ckptsim::sim::detail {

// One attempt of a job, on its node: restore, then compute and checkpoints,
// until the job is done or the attempt killed (it stops where it is).
void Replication::run_attempt(Attempt& a, Job& job, int node, double from, bool restore) {
  if (told_ahead_) return run_attempt_ahead(a, job, node, from, restore);
  s4u::Host* host = nodes_[node].host;
  const double speed = host->get_speed();
  if (restore) {
    if (a.killed()) return;
    STORY("job %d restores from its checkpoint at %.1f s of compute", job.id, from);
    if (!image_io(a, node, costs_.restore_s, false)) return;
  }
  double at = from;
  for (size_t k = 0; k < costs_.checkpoints.size(); ++k) {
    const double cp = costs_.checkpoints[k];
    if (cp <= at) continue;
    if (!a.exec(host, (cp - at) * speed)) return;
    at = cp;
    if (costs_.forked) {
      if (!forked_dump(a, job, node, k, cp)) return;
      continue;
    }
    STORY("job %d checkpoints (%.1f s)", job.id, costs_.dump_s[k]);
    if (!image_io(a, node, costs_.dump_s[k], true)) return;
    job.progress.checkpointed = cp;
    job.progress.image_node = node;
  }
  if (costs_.work_s > at && !a.exec(host, (costs_.work_s - at) * speed)) return;
  job.progress.done = true;
}

// The same attempt as one wait (attempt_ahead.h): what a failure ends
// early leaves the job as the steps done by then left it.
void Replication::run_attempt_ahead(Attempt& a, Job& job, int node, double from, bool restore) {
  if (restore && a.killed()) return;
  const AttemptAhead ahead(costs_, job.progress, site_of(node), now(), from, restore);
  const bool completed = a.sleep(ahead.end() - now());
  result_.events += completed ? ahead.stories() : ahead.stories_by(now());
  job.progress = completed ? ahead.finished() : ahead.progress_at(now());
}

// A forked dump: the previous fork's image completed first (the library
// waits for a fork still writing, the job stopped), the job stopped for
// its fork, then the fork's write started; the job goes on at once.
bool Replication::forked_dump(Attempt& a, Job& job, int node, size_t k, double cp) {
  if (job.progress.pending_node >= 0) {
    const double waited = now();
    if (job.pending_io && !a.wait(job.pending_io)) return false;
    if (!job.pending_io && job.progress.pending_ready_at > now() && !a.sleep(job.progress.pending_ready_at - now())) return false;
    if (now() > waited) STORY("job %d waits %.1f s for its previous fork's write", job.id, now() - waited);
    settle_forked_write(job, true);
  }
  STORY("job %d checkpoints forked (stopped %.3f s, written in %.1f s)", job.id, costs_.dump_s[k], costs_.write_s[k]);
  if (!a.sleep(costs_.dump_s[k])) return false;
  job.progress.pending_checkpointed = cp;
  job.progress.pending_node = node;
  job.progress.pending_ready_at = now() + costs_.write_s[k];
  job.pending_io = start_write(node, costs_.write_s[k]);
  return true;
}

// The fork's write as I/O where others share the disk or file system (an
// activity that runs on by itself); nullptr where the node's disk is its
// own: the write then simply takes its time.
simgrid::s4u::ActivityPtr Replication::start_write(int node, double seconds) {
  const double bps = sites_[node].write_Bps;
  const uint64_t bytes = io_bytes(seconds, bps);
  if (bytes == 0 || (!storage_ && sole_disk_user_)) return nullptr;
  if (storage_) return s4u::Comm::sendto_async(nodes_[node].host, storage_, bytes);
  return nodes_[node].disk->write_async(bytes);
}

// A forked dump's image becomes the restore point once written; one still
// being written when the attempt ends (killed: its fork dies with it) is lost.
void Replication::settle_forked_write(Job& job, bool written) {
  if (job.progress.pending_node < 0) return;
  if (!written) written = job.pending_io ? write_done(job.pending_io) : job.progress.pending_ready_at <= now();
  if (written) {
    job.progress.checkpointed = job.progress.pending_checkpointed;
    job.progress.image_node = job.progress.pending_node;
  } else {
    if (job.pending_io) job.pending_io->cancel();
    if (!job.progress.done) STORY("job %d: its forked image was not written yet, lost", job.id);
  }
  job.progress.pending_node = -1;
  job.pending_io = nullptr;
}

bool Replication::write_done(const simgrid::s4u::ActivityPtr& io) {
  try {
    return io->test();
  } catch (const simgrid::Exception&) {
    return false;  // cancelled with its attempt
  }
}

// A dump (write) or restore of what costs `seconds` on the node's disk:
// there, or the same bytes to or from the shared file system, over the
// node's link (its per-client limit, cluster_platform.cpp) and the file
// system's, shared with every other transfer.
// False once the attempt is killed.
bool Replication::image_io(Attempt& a, int node, double seconds, bool write) {
  const double bps = write ? sites_[node].write_Bps : sites_[node].read_Bps;
  if (!storage_) return disk_time(a, nodes_[node].disk, seconds, bps, write, sole_disk_user_);
  const uint64_t bytes = io_bytes(seconds, bps);
  if (bytes == 0) return true;
  s4u::Host* host = nodes_[node].host;
  return a.wait(write ? s4u::Comm::sendto_async(host, storage_, bytes) : s4u::Comm::sendto_async(storage_, host, bytes));
}

// A dump or restore is disk I/O sized so that, alone on the disk, it takes
// exactly the profile's cost; concurrent I/O on the same disk shares it.
// When nothing can share the disk (sole_user), the I/O takes exactly
// bytes/bandwidth, and a sleep that long is the same thing: SimGrid 3.32's
// disk model has only the full update (every disk action looked at, at every
// event), which made the simulator's cost grow as nodes^1.6.
bool Replication::disk_time(Attempt& a, const s4u::Disk* disk, double seconds, double bps, bool write,
                            bool sole_user) {
  const sg_size_t bytes = io_bytes(seconds, bps);
  if (bytes == 0) return true;
  if (sole_user) return a.sleep(static_cast<double>(bytes) / bps);
  return a.wait(write ? disk->write_async(bytes) : disk->read_async(bytes));
}

}  // namespace ckptsim::sim::detail
