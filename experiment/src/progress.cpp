#include "progress.h"

#include <ostream>

namespace ckptsim::experiment {

ProgressBar::ProgressBar(std::ostream& out, bool tty, int total) : out_(out), tty_(tty), total_(total) {}

ProgressBar::~ProgressBar() { clear(); }

void ProgressBar::clear() {
  if (!shown_) return;
  out_ << "\r\033[K" << std::flush;
  shown_ = false;
}

void ProgressBar::draw() {
  if (!tty_) return;
  constexpr int kWidth = 30;
  const int filled = total_ > 0 ? done_ * kWidth / total_ : 0;
  std::string what = what_.size() > 60 ? what_.substr(0, 60) : what_;
  out_ << "\r\033[Kexperiment [" << std::string(static_cast<size_t>(filled), '#')
       << std::string(static_cast<size_t>(kWidth - filled), '.') << "] " << done_ << "/" << total_ << " " << what
       << std::flush;
  shown_ = true;
}

void ProgressBar::status(const std::string& what) {
  if (what == what_) return;
  what_ = what;
  draw();
}

void ProgressBar::step_done(const std::string& summary) {
  ++done_;
  if (tty_) {
    draw();
  } else {
    out_ << "experiment: [" << done_ << "/" << total_ << "] " << summary << "\n" << std::flush;
  }
}

}  // namespace ckptsim::experiment
