// Progress of a long command (calibrate, experiment, sweep) on stderr: a bar
// redrawn in place on a terminal, plain lines otherwise (logs, CI), each line
// headed by the command's name. Warnings and notes go through it so that they
// don't tear the bar.
#pragma once
#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>

namespace ckptsim::util {

class ProgressBar {
 public:
  // How the bar looks. The defaults are calibrate's and experiment's; the
  // sweep's bar carries its name and stays on screen when done.
  struct Style {
    bool name_on_bar = false;  // "NAME [###...]" rather than "[###...]"
    bool erase = true;         // the bar is erased to make room for a line, and at the end;
                               // otherwise it is left on screen and lines go below it
  };

  ProgressBar(std::ostream& out, bool tty, int total_steps, std::string name, Style style);
  ProgressBar(std::ostream& out, bool tty, int total_steps, std::string name = "calibrate")
      : ProgressBar(out, tty, total_steps, std::move(name), Style{}) {}
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool tty() const { return tty_; }
  void set_total(int total) { total_ = total; }
  int done() const { return done_; }

  // What is happening now (redraws the bar; silent when not a tty).
  void status(const std::string& what);
  // Jumps to `done` of `total` (redraws; silent when not a tty).
  void set(int done, int total, const std::string& what);
  // One step finished: advance, and print `summary` as a line (headed
  // "NAME: [done/total]" when not a tty).
  void step_done(const std::string& summary);
  // "NAME: warning: LINE" and "NAME: LINE", in both modes.
  void warn(const std::string& line);
  void info(const std::string& line);
  // Ends the bar (see Style::erase); later lines start at a line's beginning.
  void finish();

 private:
  void clear_bar();
  void draw();
  std::ostream& out_;
  bool tty_;
  int total_, done_ = 0;
  std::string name_, what_;
  Style style_;
  bool bar_shown_ = false;
};

}  // namespace ckptsim::util
