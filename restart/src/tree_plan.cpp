// Descriptors of a whole tree, opened in the restarter before anything is
// started: one ObjectFactory for all processes (a pipe between two of them is
// created once, filled once, and each holder gets its end), and each
// shared_files group opened once, the same open file for every holder.
#include "object_factory.h"
#include "phases.h"
#include "tree.h"

namespace ckptsim::restart {

TreeFdView tree_fd_view(const TreeImage& tree) {
  TreeFdView view;
  for (const auto& img : tree.images) view.images.push_back(&img);
  for (size_t g = 0; g < tree.shared_files.size(); ++g)
    for (const auto& holder : tree.shared_files[g]) view.group_of[holder] = g;
  return view;
}

void check_tree_fds(const TreeImage& tree, const TreeFdView& view, bool skip_unrestorable) {
  for (const auto& img : tree.images) {
    try {
      check_fds_restorable(img, skip_unrestorable, view);
    } catch (const ImageError& e) {
      throw ImageError("process " + std::to_string(img.pid) + ": " + e.what());
    }
  }
}

std::vector<FdPlan> plan_tree_fds(const TreeImage& tree, TreeFdView& view, bool skip_unrestorable) {
  ObjectFactory objects(view.images);
  std::vector<FdPlan> plans;
  for (const auto& img : tree.images) plans.push_back(plan_fds(img, skip_unrestorable, objects, &view));
  return plans;
}

}  // namespace ckptsim::restart
