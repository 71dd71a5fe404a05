// Node slots: one per simulated node, each pinned to its own core (the next
// usable CPU, round robin when there are more slots than CPUs) with its own
// private scratch directory. Processes started on a slot run in their own
// process group, pinned to its core, and die with us.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ckptsim::experiment {

struct Slot {
  int index = 0;
  int cpu = 0;
  bool spare = false;             // receives migrated jobs only
  std::filesystem::path dir;      // 0700: images of the jobs run here
  std::filesystem::path incoming; // 0700: images copied here from another slot
};

// The CPUs this process may run on (sched_getaffinity), in order.
std::vector<int> usable_cpus();

// Creates `regular + spares` slots under root (each dir 0700).
std::vector<Slot> make_slots(int regular, int spares, const std::filesystem::path& root);

// Removes what jobs left in a slot (images, copies), keeping the directories.
void clean_slot(const Slot& slot);

// fork + exec pinned to `cpu` (sched_setaffinity before exec), in its own
// process group (so a kill reaches the job `ckptsim run` or `restart` started),
// killed if we die, stdin /dev/null, stdout and stderr to `log`. Throws
// RunFailed if it cannot be started.
pid_t spawn_pinned(const std::vector<std::string>& argv, int cpu, const std::filesystem::path& log);

// SIGKILL to the whole process group of a process spawn_pinned started.
void kill_group(pid_t pid);

// Makes a private directory (0700), creating parents; throws RunFailed.
void make_private_dir(const std::filesystem::path& dir);

}  // namespace ckptsim::experiment
