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

ProgressBar::ProgressBar(std::ostream& err, bool is_tty) : err_(err), tty_(is_tty) {}

void ProgressBar::update(std::size_t done, std::size_t total, double elapsed_s) {
  if (total == 0) return;
  // Time left from the mean time per point so far; unknown until one finished.
  const double left = done == 0 ? -1 : elapsed_s / static_cast<double>(done) * static_cast<double>(total - done);
  if (tty_) {
    if (done < total && last_draw_s_ >= 0 && elapsed_s - last_draw_s_ < 0.2) return;
    last_draw_s_ = elapsed_s;
    constexpr int width = 30;
    const int filled = static_cast<int>(width * done / total);
    err_ << "\rsweep [" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done << "/" << total
         << " points, " << duration(left) << " left   " << std::flush;
    drawn_ = true;
    return;
  }
  const std::size_t tenth = done * 10 / total;
  if (done == 0 || tenth == last_tenth_) return;
  last_tenth_ = tenth;
  err_ << "sweep: " << done << "/" << total << " points, " << duration(elapsed_s) << " elapsed, " << duration(left)
       << " left\n";
}

void ProgressBar::finish() {
  if (tty_ && drawn_) err_ << "\n";
  drawn_ = false;
}

}  // namespace ckptsim::sim
