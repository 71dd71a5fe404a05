#include "util/progress_bar.h"

#include <algorithm>
#include <cstdint>
#include <ostream>
#include <utility>

namespace ckptsim::util {

ProgressBar::ProgressBar(std::ostream& out, bool tty, int total_steps, std::string name, Style style)
    : out_(out), tty_(tty), total_(total_steps), name_(std::move(name)), style_(style) {}

ProgressBar::~ProgressBar() {
  finish();
  out_.flush();
}

void ProgressBar::clear_bar() {
  if (tty_ && bar_shown_) {
    out_ << (style_.erase ? "\r\033[K" : "\n");
    bar_shown_ = false;
  }
}

void ProgressBar::draw() {
  if (!tty_) return;
  constexpr int kWidth = 30;
  // In 64 bits: done_ * kWidth overflows an int past 71 million steps.
  const int filled = total_ > 0 ? static_cast<int>(std::min<int64_t>(kWidth, int64_t(done_) * kWidth / total_)) : 0;
  out_ << (style_.erase ? "\r\033[K" : "\r") << (style_.name_on_bar ? name_ + " " : std::string()) << "["
       << std::string(static_cast<size_t>(filled), '#') << std::string(static_cast<size_t>(kWidth - filled), '.')
       << "] " << done_ << "/" << total_ << " " << what_ << std::flush;
  bar_shown_ = true;
}

void ProgressBar::status(const std::string& what) {
  what_ = what;
  draw();
}

void ProgressBar::set(int done, int total, const std::string& what) {
  done_ = done;
  total_ = total;
  status(what);
}

void ProgressBar::step_done(const std::string& summary) {
  ++done_;
  if (tty_) {
    clear_bar();
    out_ << summary << "\n";
    draw();
  } else {
    out_ << name_ << ": [" << done_ << "/" << total_ << "] " << summary << "\n" << std::flush;
  }
}

void ProgressBar::warn(const std::string& line) {
  clear_bar();
  out_ << name_ << ": warning: " << line << "\n";
  draw();
}

void ProgressBar::info(const std::string& line) {
  clear_bar();
  out_ << name_ << ": " << line << "\n";
  draw();
}

void ProgressBar::finish() { clear_bar(); }

}  // namespace ckptsim::util
