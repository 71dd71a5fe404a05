// A process tree's image (docs/image-format.md "Process trees") as the
// restarter sees it, and the steps of its restore (docs/restarting.md
// "Process trees"), each in its own file.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "image.h"
#include "restart/restart.h"

namespace ckptsim::restart {

class ImageFiles;

struct TreeProcess {
  pid_t pid = 0, ppid = 0, pgid = 0, sid = 0;  // as the job saw them
  std::string comm;
  bool zombie = false;
  int exit_status = 0;           // a zombie's raw wait status
  int parent = -1;               // index in TreeImage::procs; -1 for the root
  std::vector<size_t> children;  // indexes, in tree order
  int image = -1;                // a live process's index in TreeImage::images
  // Its session's leader has exited (a daemon's double fork: the leader forked
  // it and exited, and it was reparented to its parent, a child subreaper): a
  // helper takes this pid, calls setsid, creates the process and exits; an
  // unreaped leader, a zombie of the tree, is that helper itself
  // (verify_tree.cpp decides, build_tree.cpp does it). 0: no helper.
  pid_t session_helper = 0;
};

struct TreeImage {
  std::shared_ptr<ImageFiles> files;  // the tree's directory, opened once
  int seq = 0;
  pid_t root = 0;
  std::vector<TreeProcess> procs;  // the root first, then breadth-first (a parent before its children)
  std::vector<std::vector<std::pair<pid_t, int>>> shared_files;  // groups of (pid, fd): one open file each
  std::vector<Image> images;       // every live process's verified image, in tree order
};

// read_tree.cpp: whether `image` (a directory or DIR/latest) holds a tree.json.
// Never throws: an unusable path is for the reader to report.
bool is_tree_image(const std::filesystem::path& image);
// tree.json strictly: format, version, its own checksum, pids, the links
// forming one tree rooted at `root`, the directory's entries. ImageError.
TreeImage read_tree_manifest(const std::filesystem::path& image);
// verify_tree.cpp: every proc-PID through verify_image, each against the
// tree (its pid and children), shared_files naming open fds, and the caller
// able to restore a tree (root). ImageError; nothing started.
void verify_tree(TreeImage& tree, const RestartOptions& opts);

// tree_plan.cpp: the descriptors of every process (phases.h, TreeFdView).
struct TreeFdView;
struct FdPlan;
TreeFdView tree_fd_view(const TreeImage& tree);
// ImageError naming the process and descriptor that cannot be restored.
void check_tree_fds(const TreeImage& tree, const TreeFdView& view, bool skip_unrestorable);
// One plan per live process, in tree order (TreeImage::images).
std::vector<FdPlan> plan_tree_fds(const TreeImage& tree, TreeFdView& view, bool skip_unrestorable);

// restore_tree.cpp: the whole restore; returns the pid of the tree's init
// (a child of the caller), which ends the way the tree's root ends.
pid_t restore_tree(const RestartOptions& opts);

}  // namespace ckptsim::restart
