// Progress of a long command (calibrate, experiment) on stderr: a redrawn bar
// on a terminal, plain lines otherwise (logs, CI), each line headed by the
// command's name. Warnings go through it so they don't tear the bar.
#pragma once
#include <iosfwd>
#include <string>

namespace ckptsim::calib {

class Progress {
 public:
  Progress(std::ostream& out, bool tty, int total_steps, std::string name = "calibrate");
  ~Progress();
  void set_total(int total) { total_ = total; }
  // What is happening now (redraws the bar; silent when not a tty).
  void status(const std::string& what);
  // One step finished: advance, and print `summary` as a line when not a tty.
  void step_done(const std::string& summary);
  void warn(const std::string& line);
  void info(const std::string& line);
  int done() const { return done_; }

 private:
  void clear_bar();
  void draw();
  std::ostream& out_;
  bool tty_;
  int total_, done_ = 0;
  std::string name_, what_;
  bool bar_shown_ = false;
};

}  // namespace ckptsim::calib
