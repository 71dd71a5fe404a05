// Forked dump costs: what a dump stops the job when a forked copy writes its
// image (CKPT_FORK=1, `run`'s default), and how long that copy writes.
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "calib/job.h"
#include "calib/probes.h"
#include "ckpt/control.h"
#include "ckpt/image_summary.h"
#include "measure_internal.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

bool wrote_in_process(const fs::path& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return text.str().find("no room for a forked dump") != std::string::npos;
}

namespace {

// The image renamed into place by its writer (ckpt-NNNN appears whole: it is
// written under a temporary name), polled every 200 µs.
bool wait_for_image(const fs::path& image, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    if (fs::exists(image / image_format::kManifest, ec)) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return false;
}

}  // namespace

std::optional<ForkedRow> measure_forked(const RepContext& ctx) {
  const util::ScratchDir cleanup(ctx.rep_dir);  // the image is big
  const fs::path images = make_rep_dirs(ctx);
  JobSpec spec = checkpointed_job(ctx, images);
  spec.fork = true;
  spec.stop_when_ready = true;  // dumped right after its matrices are built, as measure_rep's
  MatmulJob job(spec);
  job.wait_ready(std::chrono::seconds(600));
  ForkedRow row;
  row.order = ctx.order;
  row.process_bytes = process_size(job.pid()).rss_bytes;
  ckpt::CheckpointResult r;
  const auto signalled = std::chrono::steady_clock::now();
  try {
    ContinueWhenSignalled resume(job.pid(), std::stoi(spec.ckpt_signal));
    r = ckpt::request_checkpoint(job.pid(), true);
  } catch (const ckpt::CkptError& e) {
    if (!job.process().try_wait()) throw;
    // A small order ends while its fork still writes (the job computes on
    // once it forked): the fork finishes the image all the same.
    r.image = images / "ckpt-0001";
    if (!wait_for_image(r.image, std::chrono::seconds(60)))
      throw std::runtime_error(std::string("the job ended and its forked image never completed: ") + e.what());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
  }
  job.kill();
  if (wrote_in_process(spec.log)) return std::nullopt;  // not a forked dump's row
  ckpt::ImageSummary m;
  try {
    m = ckpt::read_image_summary(r.image);
  } catch (const ckpt::CkptError& e) {
    throw std::runtime_error("image " + r.image.string() + ": " + e.what());
  }
  if (!m.has_stopped) throw std::runtime_error("image " + r.image.string() + " has no stopped_ns (is the library current?)");
  row.stop_s = m.stopped_ns / 1e9;
  row.write_s = r.seconds;
  row.image_bytes = dir_size(r.image).apparent_bytes;
  return row;
}

}  // namespace ckptsim::calib
