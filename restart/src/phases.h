// The restore phases, in the order restore_process() runs them. Each lives in
// its own file; see docs/internals.md "Restoring a process".
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "image.h"
#include "restart/restart.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {

// read_manifest.cpp: manifest.json -> Image (no checksums yet).
class ImageFiles;
Image read_manifest(ImageFiles& files);

// read_core.cpp: checks the core's ELF structure against the manifest, fills
// in segment offsets, registers, xstate and auxv.
void read_core(Image& img);

// chain.cpp: an incremental image's parents (Image::ancestors), each checked
// (ImageError naming the link), and every dumped mapping cut into pieces.
void read_chain(Image& img);
// file_chain.cpp: every file copy stored as changed ranges rebuilt from the
// chain (ImageError naming a missing or damaged part); the image's files/NAME
// is the rebuilt content from then on.
void rebuild_file_copies(Image& img);
// verify_image.cpp: the core's header against its checksum (any link).
void check_core_header(const Image& img);
// verify_image.cpp: the bytes before the first dumped segment (ELF header,
// program headers, notes), and a whole read of `link`'s core (ImageError naming
// it when it is short).
uint64_t core_header_size(const Image& img);
void read_core_at(const Image& link, uint64_t off, size_t len, uint8_t* buf);

// verify_image.cpp: resolve DIR/latest, check ownership/permissions, kernel,
// executable, sizes and checksums. Throws ImageError; touches nothing.
Image verify_image(const std::filesystem::path& image, Verify mode);
// The same on an image already opened (a tree's proc-PID, read_tree.cpp).
Image verify_image(std::shared_ptr<ImageFiles> files, Verify mode);

// prepare_files.cpp: put regular files back to their checkpoint content and
// recreate the cwd and missing parent directories.
void prepare_files(const Image& img);
// The same for one process of a tree: a file several processes had open is
// put back once (`done` holds the paths already restored).
void prepare_files(const Image& img, std::set<std::string>& done);

// fd_plan.cpp: what the child gets at each descriptor number, opened here in
// the restarter (so a failure is reported before anything is started).
struct FdSlot {
  int target = -1;     // fd number in the restored process
  int source = -1;     // index into FdPlan::opened, or -1 for "keep the restarter's own"
};
struct FdPlan {
  std::vector<util::OwnedFd> opened;
  std::vector<FdSlot> slots;
  std::vector<int> close_in_child;  // 0..2 that were closed at checkpoint time
  int core_in_child = -1;           // the image's core, open in the child at this number (spawn_child)
  // A tree's process cannot see the restarter in its own /proc: it gets the
  // restarter's /proc/self/fd directory at this number instead (build_tree).
  int proc_fds_in_child = -1;
  // Recreated memfds/unlinked files by their deleted path: MAP_SHARED
  // mappings of them map these (restore_memory opens /proc/<restarter>/fd/N).
  std::map<std::string, int> mapped_objects;  // path -> index into opened
};
// Throws ImageError naming the first descriptor that cannot be restored
// (socket, pipe... at fd >= 3) unless skip_unrestorable. Runs before prepare_files.
void check_fds_restorable(const Image& img, bool skip_unrestorable);
FdPlan plan_fds(const Image& img, bool skip_unrestorable);

// A process tree's view for the same two (tree_plan.cpp): every live
// process's image (a pipe between two of them is restorable, and at 0..2 it is
// not a stdio endpoint), and the open file descriptions several processes share.
class ObjectFactory;
struct TreeFdView {
  std::vector<const Image*> images;                  // tree order
  std::map<std::pair<pid_t, int>, size_t> group_of;  // shared_files: (pid, fd) -> group
  std::map<size_t, int> group_fd;                    // group -> the restarter's descriptor of it, once opened
};
void check_fds_restorable(const Image& img, bool skip_unrestorable, const TreeFdView& tree);
FdPlan plan_fds(const Image& img, bool skip_unrestorable, ObjectFactory& objects, TreeFdView* tree);

// spawn_child.cpp: fork, PTRACE_TRACEME, descriptors, exec; returns stopped at
// the exec with the ptrace options set.
class ChildGuard;
ChildGuard spawn_child(const Image& img, FdPlan& fds);

// restore_memory.cpp / restore_kernel_state.cpp / restore_threads.cpp /
// resume.cpp run on stopped tracees through RemoteSyscalls.
class Tracee;
class RemoteSyscalls;
void restore_memory(Tracee& t, const Image& img, const FdPlan& fds);
void restore_kernel_state(Tracee& t, const Image& img);
// restore_objects.cpp: what only the child can hold (epoll interest lists,
// keyed by the child's fd numbers).
void restore_objects(Tracee& t, const Image& img);
// restore_threads.cpp: per-thread kernel state (in the thread itself)...
void restore_thread_state(RemoteSyscalls& remote, const ThreadImage& ti);
// ...the main thread's new id where glibc caches it...
void adopt_main_thread_id(RemoteSyscalls& remote, const ThreadImage& main);
// ...every other thread, created stopped in the child (in image order)...
std::vector<Tracee> create_threads(Tracee& main, ChildGuard& guard, const Image& img);
// ...and one thread's registers, FPU state and signal mask.
void load_thread_registers(Tracee& t, const ThreadImage& ti);
void resume(Tracee& main, std::vector<Tracee>& threads, const Image& img);

}  // namespace ckptsim::restart
