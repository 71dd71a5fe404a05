#include "calib/progress.h"

#include <algorithm>
#include <ostream>
#include <utility>

namespace ckptsim::calib {

Progress::Progress(std::ostream& out, bool tty, int total_steps, std::string name)
    : out_(out), tty_(tty), total_(total_steps), name_(std::move(name)) {}

Progress::~Progress() {
  clear_bar();
  out_.flush();
}

void Progress::clear_bar() {
  if (tty_ && bar_shown_) {
    out_ << "\r\033[K";
    bar_shown_ = false;
  }
}

void Progress::draw() {
  if (!tty_) return;
  constexpr int kWidth = 30;
  int filled = total_ > 0 ? std::min(kWidth, done_ * kWidth / total_) : 0;
  out_ << "\r\033[K[" << std::string(static_cast<size_t>(filled), '#')
       << std::string(static_cast<size_t>(kWidth - filled), '.') << "] " << done_ << "/" << total_ << " "
       << what_ << std::flush;
  bar_shown_ = true;
}

void Progress::status(const std::string& what) {
  what_ = what;
  draw();
}

void Progress::step_done(const std::string& summary) {
  ++done_;
  if (tty_) {
    clear_bar();
    out_ << summary << "\n";
    draw();
  } else {
    out_ << name_ << ": [" << done_ << "/" << total_ << "] " << summary << "\n" << std::flush;
  }
}

void Progress::warn(const std::string& line) {
  clear_bar();
  out_ << name_ << ": warning: " << line << "\n";
  draw();
}

void Progress::info(const std::string& line) {
  clear_bar();
  out_ << name_ << ": " << line << "\n";
  draw();
}

}  // namespace ckptsim::calib
