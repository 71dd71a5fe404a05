#include "checkpoint_timer.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "ckpt/image_summary.h"

namespace fs = std::filesystem;

namespace ckptsim::ckpt {

namespace {

using clock = CheckpointTimer::clock;

clock::duration seconds(double s) {
  return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

// The rule's interval kept within what `run --interval` accepts.
double bounded(double s) { return std::isfinite(s) ? std::fmin(std::fmax(s, kMinIntervalS), kMaxDurationS) : kMaxDurationS; }

}  // namespace

CheckpointTimer::CheckpointTimer(const RunOptions& opts, clock::time_point start)
    : opts_(opts), dir_(fs::absolute(opts.dir).lexically_normal()) {
  if (opts.auto_interval) {
    active_ = true;
    const double first = bounded(opts.auto_interval.next(-1));
    std::fprintf(stderr, "ckptsim: run: interval auto: first checkpoint after %.3f s (%s)\n", first,
                 opts.auto_interval.explain(-1).c_str());
    period_ = seconds(first);
  } else if (opts.interval_s > 0) {
    active_ = true;
    period_ = seconds(opts.interval_s);
  }
  next_ = start + period_;
}

clock::duration CheckpointTimer::wait(clock::time_point now) const {
  if (!active_) return std::chrono::seconds(1);
  if (in_flight_) return std::chrono::milliseconds(20);  // follow the dump's status
  return next_ > now ? next_ - now : clock::duration::zero();
}

void CheckpointTimer::sent(clock::time_point now) {
  if (!opts_.auto_interval) {
    next_ += period_;
    if (next_ < now) next_ = now + period_;
    return;
  }
  before_ = read_dump_status(dir_);
  last_seq_ = std::max(last_seq_, highest_image(dir_));
  sent_at_ = now;
  in_flight_ = true;
}

double CheckpointTimer::image_cost_s(const std::string& image, std::string* size_note) const {
  // The manifest is the job's own account of the dump (written by libckpt.so in
  // the image it just completed); only two numbers are taken from it.
  if (image_number(image) == 0) return -1;
  ImageSummary m;
  try {
    m = read_image_summary(dir_ / image);
  } catch (const CkptError&) {
    return -1;
  }
  if (!m.has_stopped) return -1;
  char buf[96];
  if (m.has_written)
    std::snprintf(buf, sizeof buf, "%.1f MB of memory written, %s", m.memory_bytes / 1e6,
                  m.incremental ? "incremental" : "full");
  else
    std::snprintf(buf, sizeof buf, "%.1f MB core", m.core_size / 1e6);
  *size_note = buf;
  return m.stopped_ns / 1e9;
}

void CheckpointTimer::decide(double cost_s, const std::string& what, clock::time_point resumed) {
  const double tau = bounded(opts_.auto_interval.next(cost_s));
  std::fprintf(stderr, "ckptsim: run: interval auto: %s; next checkpoint after %.3f s (%s)\n", what.c_str(), tau,
               opts_.auto_interval.explain(cost_s).c_str());
  period_ = seconds(tau);
  next_ = resumed + period_;
  in_flight_ = false;
}

void CheckpointTimer::retry_later(clock::time_point now, const std::string& what, const char* then) {
  std::fprintf(stderr, "ckptsim: run: interval auto: %s; %s %.3f s\n", what.c_str(), then,
               std::chrono::duration<double>(period_).count());
  next_ = now + period_;
  in_flight_ = false;
}

void CheckpointTimer::poll(clock::time_point now) {
  if (!active_ || !in_flight_) return;
  const DumpStatus st = read_dump_status(dir_);
  // A signal the job never answered (it was ending, or its handler went away)
  // must not stop the periodic checkpoints for good.
  if (now - sent_at_ > std::max<clock::duration>(std::chrono::minutes(10), 4 * period_)) {
    char what[64];
    std::snprintf(what, sizeof what, "no image %.0f s after the signal", std::chrono::duration<double>(now - sent_at_).count());
    return retry_later(now, what, "trying again after");
  }
  if (!st.changed_since(before_) || st.seq <= last_seq_) {
    // A dump refused before it had a number reports "fail 0".
    if (st.changed_since(before_) && st.word == "fail" && st.seq == 0) {
      retry_later(now, "checkpoint refused (" + st.rest + ")", "trying again after");
    }
    return;
  }
  if (st.word == "ok") {
    last_seq_ = st.seq;
    std::string size_note;
    double cost = image_cost_s(st.rest, &size_note);
    // The status's figure runs to the end of the dump; the manifest's had to
    // stop before the manifest itself was written (and committed, and old
    // images removed), so it is only the fallback (an older library). A
    // process tree's image has no manifest at its top: the status says it all.
    if (st.stopped_s >= 0) cost = st.stopped_s;
    if (cost < 0) {
      return retry_later(now, st.rest + " has no readable dump cost", "keeping");
    }
    char what[260];
    if (!st.note.empty()) size_note += (size_note.empty() ? "" : ", ") + st.note;  // dirty method, a tree's processes
    std::snprintf(what, sizeof what, "%s stopped the job %.4f s%s%s%s", st.rest.c_str(), cost,
                  size_note.empty() ? "" : " (", size_note.c_str(), size_note.empty() ? "" : ")");
    double per_checkpoint = cost;
    if (opts_.incremental) {
      chain_costs_.push_back(cost);
      // One chain: the full dump and the max_chain incremental ones on it.
      while (chain_costs_.size() > opts_.max_chain + 1u) chain_costs_.pop_front();
      double sum = 0;
      for (double c : chain_costs_) sum += c;
      per_checkpoint = sum / chain_costs_.size();
      const size_t used = std::strlen(what);
      std::snprintf(what + used, sizeof what - used, "; mean of the last %zu dumps %.4f s", chain_costs_.size(),
                    per_checkpoint);
    }
    // The interval is compute between checkpoints: it starts when the job ran again.
    decide(per_checkpoint, what, sent_at_ + seconds(cost));
  } else if (st.word == "fail") {
    last_seq_ = st.seq;
    retry_later(now, "checkpoint " + std::to_string(st.seq) + " failed (" + st.rest + ")", "trying again after");
  }
}

}  // namespace ckptsim::ckpt
