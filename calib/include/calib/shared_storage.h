// The shared file system the simulator can put every node's images on
// (`simulate --shared-storage measured`): measured in a directory the user
// gives (an NFS or parallel file system mount), from this one machine.
#pragma once
#include <cstdint>
#include <filesystem>

#include "models/profile.h"

namespace ckptsim::calib {

struct SharedProbe {
  std::filesystem::path dir;     // an existing directory this user can write in
  uint64_t bytes = 256ull << 20;  // written in all, split between the writers
  int writers = 4;                // at once, standing in for that many nodes
};

// Throws OptionsError (calibrate.h) when `dir` is not an existing, writable
// directory or the counts are out of range: checked before anything runs.
void check_shared_probe(const SharedProbe& probe);

// Measures it (probes.h probe_shared_dir); std::runtime_error naming the file
// that could not be written or read.
models::SharedStorage measure_shared_storage(const SharedProbe& probe);

// `calibrate --shared-dir DIR --add-to PROFILE`: the profile read, the shared
// directory measured into it, written to `out` (which may be the same file).
// ProfileError for a bad profile, OptionsError for bad options.
models::SharedStorage add_shared_storage(const std::filesystem::path& profile, const SharedProbe& probe,
                                         const std::filesystem::path& out);

}  // namespace ckptsim::calib
