// Bringing a process back from a checkpoint image (see docs/internals.md).
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace ckptsim::restart {

// The image is unusable (corrupt, other kernel, changed executable, unsafe
// permissions...). Nothing was started. The CLI maps it to exit code 2.
struct ImageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The image was fine but the restore failed half-way; the child was killed.
struct RestoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Another restore of the same job is running (RestoreLock). Nothing was
// started. The CLI maps it to exit code 4.
struct RestoreBusy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `image flatten` could not write its output (the image itself was fine).
struct FlattenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Verify { Full, Quick };  // Quick: structure and sizes, no segment hashes

struct RestartOptions {
  std::filesystem::path image;     // an image directory or DIR/latest
  bool skip_unrestorable = false;  // sockets/pipes become /dev/null with a warning
  Verify verify = Verify::Full;
  bool report_timing = false;      // one line per phase on stderr ("restart: verify 0.012 s")
  // Root restoring another user's image: write and open files that are not
  // the owner's too (docs/restarting.md, "Security"). The job still runs as its owner.
  bool allow_foreign_files = false;
  // Restore even while another restore of the same chain runs (restart/restore_lock.h).
  bool force = false;
};

// Verifies the image, forks, restores the child and lets it run. Returns the
// pid of the running restored process (a child of the caller). A process
// tree's image (tree.json) is restored whole under an init of its own (pid 1
// of a new PID namespace, docs/restarting.md "Process trees"): its pid is
// returned, and it ends the way the tree's root ends.
pid_t restore_process(const RestartOptions& opts);

// restore_process + wait: returns a shell-style status (exit code or 128+signal).
int restart_and_wait(const RestartOptions& opts);

// Writes a standalone full image of `image` (an incremental image's chain
// assembled, or a full image copied) into `out`, a new directory (0700);
// empty `out`: beside the image, named NAME-full. Verifies the image first
// (ImageError, nothing written); FlattenError if the output cannot be written
// (nothing left behind). Returns the directory written.
std::filesystem::path flatten_image(const std::filesystem::path& image, const std::filesystem::path& out);

// `image show`: one line saying what `image` is (one process's image, or a
// process tree's), and for a tree a header and one line per process (pid,
// parent, group, session, state, command). ImageError if it is unusable.
std::vector<std::string> describe_image(const std::filesystem::path& image);

// Waits for a process restore_process returned: its exit code, or 128+signal.
int wait_for_exit(pid_t pid);

}  // namespace ckptsim::restart
