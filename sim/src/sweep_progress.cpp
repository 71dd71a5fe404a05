// The sweep's progress on stderr: a bar redrawn in place on a terminal, plain
// lines (one per tenth of the work) in a log.
#include <cmath>
#include <cstdio>
#include <ostream>
#include <string>

#include "sim/sweep.h"

namespace ckptsim::sim {

namespace {

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

}  // namespace

// The bar carries the name and stays on screen: the sweep's result follows it.
SweepProgress::SweepProgress(std::ostream& err, bool is_tty)
    : bar_(err, is_tty, 0, "sweep", util::ProgressBar::Style{true, false}) {}

void SweepProgress::update(std::size_t done, std::size_t total, double elapsed_s) {
  if (total == 0) return;
  // Time left from the mean time per point so far; unknown until one finished.
  const double left = done == 0 ? -1 : elapsed_s / static_cast<double>(done) * static_cast<double>(total - done);
  if (bar_.tty()) {
    if (done < total && last_draw_s_ >= 0 && elapsed_s - last_draw_s_ < 0.2) return;
    last_draw_s_ = elapsed_s;
    bar_.set(static_cast<int>(done), static_cast<int>(total), "points, " + duration(left) + " left   ");
    return;
  }
  const std::size_t tenth = done * 10 / total;
  if (done == 0 || tenth == last_tenth_) return;
  last_tenth_ = tenth;
  bar_.info(std::to_string(done) + "/" + std::to_string(total) + " points, " + duration(elapsed_s) + " elapsed, " +
            duration(left) + " left");
}

}  // namespace ckptsim::sim
