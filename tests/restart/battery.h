// A battery case: a test program that stops at its gate (progs/gate.h), run
// once uninterrupted and once checkpointed at the gate, killed, its outputs
// scribbled on and restored; check_case compares the two runs' outputs.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "harness.h"

namespace restart_test {

struct Case {
  Case(std::string p, std::vector<std::string> a, std::vector<std::string> o)
      : prog(std::move(p)), args(std::move(a)), outputs(std::move(o)) {}
  std::string prog;
  std::vector<std::string> args;     // after MARKER GO
  std::vector<std::string> outputs;  // files (relative to the run directory) to compare
  std::function<void(const fs::path&)> setup = [](const fs::path&) {};
  std::string stdin_file;            // relative, or empty
};

void check_case(const Case& c);

// A real, unmodified program that writes OUT as it runs (OUT stands in argv
// for the output file's path; setup prepares its run directory). Run once
// uninterrupted; then under `ckptsim run`, checkpointed once OUT holds 40 %
// of the uninterrupted run's bytes, killed once it holds 60 %, and restored
// twice from that image: both restores must end with the same bytes.
struct RealProgram {
  std::vector<std::string> argv;
  std::function<void(const fs::path&)> setup = [](const fs::path&) {};
  std::vector<std::string> run_options = {};  // ckptsim run's (none: its defaults)
};
void check_real_program(const RealProgram& p);

}  // namespace restart_test
