// A process tree's image made by hand, until the library writes them: an
// ordinary checkpoint of prog_tree_root becomes the tree's proc-PID, and a
// tree.json (with its own checksum) lists it as the root with a zombie child.
#pragma once
#include <nlohmann/json.hpp>

#include "harness.h"

namespace restart_test {

struct TreeFixture {
  TempDir dir;
  fs::path exe, tree;  // tree: IMG/ckpt-0002, the tree image
  pid_t root = 0, zombie = 0;
  int zombie_status = 5 << 8;  // exit(5), as waitpid reports it
  nlohmann::json manifest;     // tree.json as written
  TreeFixture();
  fs::path proc_dir() const;
  // Writes `j` as tree.json with its own checksum.
  void write_tree(nlohmann::json j) const;
  // `ckptsim restart` must fail with exit 2, one line naming `needle`, and
  // nothing of the tree left running.
  void expect_refused(const std::string& needle) const;
};

}  // namespace restart_test
