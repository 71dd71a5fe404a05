// Incremental dump costs: what the job changes per second of compute and what
// an incremental dump of it costs (the model of `run --incremental`).
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>


#include "calib/job.h"
#include "calib/probes.h"
#include "ckpt/control.h"
#include "ckpt/image_summary.h"
#include "measure_internal.h"
#include "util/stop.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

namespace {

struct DumpFacts {
  uint64_t written = 0, full = 0;
  double stopped_s = 0;
  bool incremental = false;
};

// The job's own account of the dump, in the image it just completed.
DumpFacts read_dump_facts(const fs::path& image) {
  ckpt::ImageSummary m;
  try {
    m = ckpt::read_image_summary(image);
  } catch (const ckpt::CkptError& e) {
    throw std::runtime_error("image " + image.string() + ": " + e.what());
  }
  if (!m.has_written || !m.has_stopped)
    throw std::runtime_error("image " + image.string() + " has no dump accounting (written, stopped_ns)");
  return {m.memory_bytes, m.full_memory_bytes, m.stopped_ns / 1e9, m.incremental};
}

}  // namespace

std::vector<IncrementalRow> measure_incremental(const RepContext& ctx, const std::vector<double>& gaps, bool forked) {
  const util::ScratchDir cleanup(ctx.rep_dir);  // the images are big
  const fs::path images = make_rep_dirs(ctx);

  JobSpec spec = checkpointed_job(ctx, images);
  spec.incremental = true;
  spec.fork = forked;
  MatmulJob job(spec);
  job.wait_ready(std::chrono::seconds(600));
  ::kill(job.pid(), SIGCONT);  // from here on it computes; the first dump is the chain's full one
  std::vector<IncrementalRow> rows;
  ckpt::CheckpointResult previous;
  try {
    previous = ckpt::request_checkpoint(job.pid(), true);
  } catch (const ckpt::CkptError&) {
    if (job.process().try_wait()) return rows;  // ended already: too small an order to tell
    throw;
  }
  auto resumed = std::chrono::steady_clock::now();
  for (double gap : gaps) {
    if (util::stop_requested()) throw std::runtime_error("interrupted");
    std::this_thread::sleep_until(resumed + std::chrono::duration<double>(gap));
    if (job.process().try_wait()) break;
    const uint64_t rss = process_size(job.pid()).rss_bytes;
    const auto signalled = std::chrono::steady_clock::now();
    ckpt::CheckpointResult r;
    try {
      r = ckpt::request_checkpoint(job.pid(), true);
    } catch (const ckpt::CkptError&) {
      if (job.process().try_wait()) break;  // the job ended meanwhile
      throw;
    }
    const DumpFacts f = read_dump_facts(r.image);
    if (!f.incremental) throw std::runtime_error("the dump after " + previous.image.filename().string() +
                                                 " was not incremental (is the library current?)");
    IncrementalRow row;
    row.order = ctx.order;
    row.process_bytes = rss;
    row.written_bytes = f.written;
    row.full_bytes = f.full;
    row.since_s = std::chrono::duration<double>(signalled - resumed).count();
    row.dump_s = r.seconds;
    row.stopped_s = f.stopped_s;
    row.forked = forked;
    rows.push_back(row);
    // The next interval starts when this dump let the job go.
    resumed = signalled + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(f.stopped_s));
    previous = r;
  }
  job.kill();
  if (forked && wrote_in_process(spec.log)) return {};  // not forked dumps' rows
  return rows;
}

}  // namespace ckptsim::calib
