// The experiment's progress on stderr: a bar redrawn in place on a terminal,
// one line per finished replication otherwise (logs, CI).
#pragma once
#include <iosfwd>
#include <string>

namespace ckptsim::experiment {

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, bool tty, int total);
  ~ProgressBar();
  void status(const std::string& what);           // what runs now (terminal only)
  void step_done(const std::string& summary);     // one replication finished

 private:
  void clear();
  void draw();
  std::ostream& out_;
  bool tty_;
  int total_, done_ = 0;
  std::string what_;
  bool shown_ = false;
};

}  // namespace ckptsim::experiment
