// Descriptors come back at their numbers with their flags and offsets. They are
// opened here, in the restarter, so a failure is reported before anything runs;
// spawn_child moves them into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <tuple>

#include "object_factory.h"
#include "phases.h"

namespace ckptsim::restart {
namespace {

bool is_stdio_endpoint(const Image& img, const FdEntry& fd, const TreeFdView* tree) {
  // A terminal or pipe on 0-2 belongs to whoever started the job: the
  // restored job talks to whoever starts the restarter instead. In a tree, a
  // pipe or socket pair whose other end is in the tree is the tree's own.
  if (fd.fd > 2 || (fd.kind != "tty" && fd.kind != "pipe" && fd.kind != "socket")) return false;
  return !tree || !fd.object || !object_unrestorable_reason(img, fd, tree->images, true).empty();
}

// Why this descriptor cannot be reopened, or "" if it can.
std::string unrestorable_reason(const Image& img, const FdEntry& fd, const TreeFdView* tree) {
  if (is_stdio_endpoint(img, fd, tree)) return "";
  if (fd.object) return tree ? object_unrestorable_reason(img, fd, tree->images, true) : object_unrestorable_reason(img, fd);
  if (fd.kind == "regular") return is_deleted_path(fd.path) ? "a deleted file" : "";
  if (fd.kind == "directory" || fd.kind == "devnull" || fd.kind == "chardev") return "";
  if (fd.kind == "tty" && !fd.path.empty()) return "";
  return "a " + fd.kind + (fd.path.empty() ? "" : " (" + fd.path + ")");
}

// Flags as fdinfo shows them, minus what only makes sense when creating.
int reopen_flags(int flags) {
  return (flags & ~(O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_CLOEXEC)) | O_CLOEXEC;
}

void check_all(const Image& img, bool skip_unrestorable, const TreeFdView* tree) {
  if (skip_unrestorable) return;
  for (const auto& fd : img.fds) {
    std::string why = unrestorable_reason(img, fd, tree);
    if (!why.empty())
      throw ImageError("fd " + std::to_string(fd.fd) + " is " + why +
                       ", which cannot be restored (--skip-unrestorable makes it /dev/null)");
  }
}

// One process's plan, descriptor by descriptor.
class Planner {
 public:
  Planner(const Image& img, bool skip, ObjectFactory& objects, TreeFdView* tree)
      : img_(img), skip_(skip), objects_(objects), tree_(tree) {}
  FdPlan plan;
  void add(const FdEntry& fd);

 private:
  int push(util::OwnedFd f) {
    plan.opened.push_back(std::move(f));
    return static_cast<int>(plan.opened.size()) - 1;
  }
  int open_described(const FdEntry& fd);
  int open_path(const FdEntry& fd);

  const Image& img_;
  bool skip_;
  ObjectFactory& objects_;
  TreeFdView* tree_;
  // fds that shared one open file description (2>&1, dup) must share it again,
  // or they would overwrite each other: same file, flags and offset => dup.
  std::map<std::tuple<std::string, int, uint64_t>, int> shared_;
  std::map<int, int> index_of_;  // fd number -> its description in plan.opened
};

void Planner::add(const FdEntry& fd) {
  if (fd.fd < 0) throw ImageError("manifest.json: negative fd number");
  if (is_stdio_endpoint(img_, fd, tree_)) {
    plan.slots.push_back({fd.fd, -1});
    return;
  }
  // One open file description of several processes (shared_files): opened
  // for the first holder, the same description for every other.
  std::optional<size_t> group;
  if (tree_)
    if (auto g = tree_->group_of.find({img_.pid, fd.fd}); g != tree_->group_of.end()) group = g->second;
  int index;
  if (group && tree_->group_fd.count(*group)) {
    index = push(util::OwnedFd(::fcntl(tree_->group_fd[*group], F_DUPFD_CLOEXEC, 0)));
    if (!plan.opened[index]) throw RestoreError("dup: " + std::string(std::strerror(errno)));
    if (fd.object && is_deleted_path(fd.path)) plan.mapped_objects.emplace(fd.path, index);
  } else {
    index = open_described(fd);
    if (group) tree_->group_fd[*group] = plan.opened[index].get();
  }
  plan.slots.push_back({fd.fd, index});
  index_of_[fd.fd] = index;
}

int Planner::open_described(const FdEntry& fd) {
  const std::string why = unrestorable_reason(img_, fd, tree_);
  if (why.empty() && fd.object) {
    const int index = fd.object->dup_of >= 0 ? index_of_.at(fd.object->dup_of) : push(objects_.open(fd));
    if (is_deleted_path(fd.path)) plan.mapped_objects.emplace(fd.path, index);
    return index;
  }
  if (why.empty()) return open_path(fd);
  if (!skip_) throw ImageError("fd " + std::to_string(fd.fd) + " is " + why + ", which cannot be restored");
  std::cerr << "ckptsim: warning: fd " << fd.fd << " was " << why << "; it is /dev/null in the restored process\n";
  util::OwnedFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) throw RestoreError("cannot open /dev/null: " + std::string(std::strerror(errno)));
  return push(std::move(null));
}

int Planner::open_path(const FdEntry& fd) {
  std::string path = fd.path;
  int flags = reopen_flags(fd.flags);
  if (fd.kind == "devnull") {
    path = "/dev/null";
  } else if (fd.kind == "directory") {
    flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  }
  const auto key = std::make_tuple(path, flags, fd.offset);
  if (fd.kind == "regular")
    if (auto it = shared_.find(key); it != shared_.end()) return it->second;
  // fd paths are what /proc/PID/fd resolved to: a link in their last
  // component was put there since, and is not followed.
  util::OwnedFd opened(::open(path.c_str(), flags | O_NOFOLLOW));
  if (!opened)
    throw RestoreError("cannot reopen fd " + std::to_string(fd.fd) + " (" + path + "): " + std::strerror(errno));
  struct stat st {};
  ::fstat(opened.get(), &st);
  if (fd.kind == "regular" && !S_ISREG(st.st_mode))
    throw RestoreError("cannot reopen fd " + std::to_string(fd.fd) + " (" + path + "): not a regular file any more");
  if (fd.kind == "regular") img_.owner.check_file_owner(st.st_uid, "give the job " + path);
  if (fd.kind == "regular" && ::lseek(opened.get(), static_cast<off_t>(fd.offset), SEEK_SET) < 0)
    throw RestoreError("cannot seek fd " + std::to_string(fd.fd) + " (" + path + "): " + std::strerror(errno));
  const int index = push(std::move(opened));
  if (fd.kind == "regular") shared_.emplace(key, index);
  return index;
}

}  // namespace

void check_fds_restorable(const Image& img, bool skip_unrestorable) { check_all(img, skip_unrestorable, nullptr); }

void check_fds_restorable(const Image& img, bool skip_unrestorable, const TreeFdView& tree) {
  check_all(img, skip_unrestorable, &tree);
}

FdPlan plan_fds(const Image& img, bool skip_unrestorable, ObjectFactory& objects, TreeFdView* tree) {
  AsImageOwner as_owner(img.owner);  // what the job gets, it could have opened itself
  Planner p(img, skip_unrestorable, objects, tree);
  bool seen_stdio[3] = {false, false, false};
  for (const auto& fd : img.fds) {
    if (fd.fd >= 0 && fd.fd <= 2) seen_stdio[fd.fd] = true;
    p.add(fd);
  }
  for (const auto& sf : img.shared_files)
    if (is_deleted_path(sf.path) && !p.plan.mapped_objects.count(sf.path)) {
      p.plan.mapped_objects.emplace(sf.path, static_cast<int>(p.plan.opened.size()));
      p.plan.opened.push_back(objects.open_mapped(img, sf));
    }
  for (int i = 0; i <= 2; ++i)
    if (!seen_stdio[i]) p.plan.close_in_child.push_back(i);
  return std::move(p.plan);
}

FdPlan plan_fds(const Image& img, bool skip_unrestorable) {
  ObjectFactory objects({&img});
  return plan_fds(img, skip_unrestorable, objects, nullptr);
}

}  // namespace ckptsim::restart
