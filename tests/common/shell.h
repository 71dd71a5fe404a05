// Test commands that need a shell (redirections, pipes, an environment
// prefix): /bin/sh -c, said out loud, through util::spawn, never system().
#pragma once
#include <filesystem>
#include <string>

#include "util/subprocess.h"

namespace ckptsim::test {

// Runs `/bin/sh -c LINE` with stdin from /dev/null and stdout and stderr into
// the given files; its shell-style status (128+N if killed by signal N).
inline int run_sh(const std::string& line, const std::filesystem::path& out, const std::filesystem::path& err) {
  util::SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c", line};
  spec.stdout_path = out.string();
  spec.stderr_path = err.string();
  spec.own_process_group = false;  // as system() would: a Ctrl-C on the test run reaches it too
  return util::spawn(spec).wait();
}

}  // namespace ckptsim::test
