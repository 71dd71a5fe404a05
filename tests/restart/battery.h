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

}  // namespace restart_test
