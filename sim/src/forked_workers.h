// The simulator's one worker pool: every task runs in a forked child (SimGrid
// allows one engine per process, so each simulation gets a fresh one), at
// most `workers` at once, and sends back one JSON line over a pipe (doubles
// survive the trip exactly: nlohmann writes the shortest round-tripping
// form). Leaving run_forked any way, a throw included, kills and reaps every
// child still running. simulate's cells and sweep's points both use it.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ckptsim::sim {

struct ForkedReply {
  bool ok = false;           // the child sent {"ok": value}
  nlohmann::json value;      // ... this value
  std::string error;         // or {"error": what}: what its task threw
  bool sent = false;         // it sent a parsable line at all
  int wait_status = 0;       // waitpid's status word
  std::string stderr_tail;   // its last stderr line, when that was captured
};

struct ForkedTasks {
  std::vector<std::size_t> tasks;                            // task ids, run in this order
  int workers = 1;
  std::function<nlohmann::json(std::size_t task)> work;      // runs in the child; a throw is its error
  std::function<bool(std::size_t task)> capture_stderr;      // set and true: the child's stderr kept, not shown
  std::function<void(std::size_t task, const ForkedReply&)> done;  // in the parent; may throw
  std::function<bool()> stop;                                // set and true: stop starting, kill what runs
  std::function<void()> tick;                                // after every reply and at least every 250 ms
};

// Runs every task; false if `stop` ended it before every reply was in. Throws SimError for a
// failed pipe, fork or poll, and whatever `done` throws.
bool run_forked(const ForkedTasks& t);

// "was killed by signal N" / "exited with status N", from a wait status word.
std::string describe_wait_status(int status);

}  // namespace ckptsim::sim
