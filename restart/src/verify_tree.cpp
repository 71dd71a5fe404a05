// A tree image is checked whole before anything starts: each process's image
// as a single image is (verify_image, opened through the tree's directory),
// each against the tree, and what the restore will rebuild (sessions, groups,
// shared descriptors) possible to rebuild. The processes' images are
// verified on as many threads as there are CPUs (each reads and hashes its own
// core: the bulk of a restore's time, and independent of the others).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "image_files.h"
#include "phases.h"
#include "tree.h"

namespace ckptsim::restart {
namespace {

std::string pid_list(std::vector<pid_t> pids) {
  std::sort(pids.begin(), pids.end());
  std::string s;
  for (pid_t p : pids) s += (s.empty() ? "" : ", ") + std::to_string(p);
  return s.empty() ? "none" : s;
}

// Its pid, and the children its manifest records (the library writes none:
// tree.json holds the links) among the tree's.
void check_against_tree(const TreeImage& tree, const TreeProcess& p, const Image& img) {
  if (img.pid != p.pid)
    throw ImageError(img.dir.string() + " holds the image of process " + std::to_string(img.pid) + ", not of " +
                     std::to_string(p.pid));
  std::vector<pid_t> kids;
  for (size_t c : p.children) kids.push_back(tree.procs[c].pid);
  std::vector<pid_t> recorded = img.children;
  std::sort(kids.begin(), kids.end());
  std::sort(recorded.begin(), recorded.end());
  if (!std::includes(kids.begin(), kids.end(), recorded.begin(), recorded.end()))
    throw ImageError(img.dir.string() + " records the children " + pid_list(recorded) + ", " + fmt::kTreeManifest +
                     " the children " + pid_list(kids));
}

// Sessions and groups are rebuilt from inside the tree: a session leader
// calls setsid, a process joins a group whose leader is an earlier process
// of its session. A session whose leader has exited (a daemon's double fork)
// is recreated by a helper that takes the leader's pid, calls setsid, creates
// the process and exits, so the process ends up its parent's child again:
// only when that parent was a child subreaper (as the job's first process
// is), and the pid names no process of the tree but that leader as an
// unreaped zombie of the same parent (which is then the helper, and stays a
// zombie). What cannot be rebuilt so is
// refused; a group or session outside the tree is left to the restarter's
// (docs/restarting.md).
void check_sessions(TreeImage& tree) {
  std::map<pid_t, size_t> index;
  for (size_t i = 0; i < tree.procs.size(); ++i) index[tree.procs[i].pid] = i;
  std::map<pid_t, size_t> helper_parent;  // a helper's pid -> the process that creates it
  for (size_t i = 0; i < tree.procs.size(); ++i) {
    TreeProcess& p = tree.procs[i];
    const std::string who = fmt::kTreeManifest + std::string(": process ") + std::to_string(p.pid);
    if (p.sid == p.pid && p.pgid != p.pid) throw ImageError(who + " leads a session but not its process group");
    if (p.sid != p.pid && p.parent >= 0 && tree.procs[p.parent].sid != p.sid) {
      const TreeProcess& parent = tree.procs[p.parent];
      const std::string where = who + " is in session " + std::to_string(p.sid) + ", its parent " +
                                std::to_string(parent.pid) + " in session " + std::to_string(parent.sid);
      if (auto it = index.find(p.sid); it != index.end() && tree.procs[it->second].sid != p.sid)
        throw ImageError(where + ", and pid " + std::to_string(p.sid) + " is a process of the tree that does not "
                         "lead that session: it cannot be recreated");
      // The leader exited unreaped, a sibling: as that zombie it creates the process first.
      const auto leader = index.find(p.sid);
      const bool zombie_leader = leader != index.end() && tree.procs[leader->second].zombie &&
                                 tree.procs[leader->second].parent == p.parent;
      if (p.sid == 0 || p.sid == 1 || (leader != index.end() && !zombie_leader))
        throw ImageError(where + ": such a tree cannot be rebuilt");
      if (!tree.images[parent.image].child_subreaper)
        throw ImageError(where + ", whose leader has exited, and the parent was no child subreaper: such a tree "
                         "cannot be rebuilt");
      if (p.pgid != p.sid && p.pgid != p.pid)
        throw ImageError(who + " is in process group " + std::to_string(p.pgid) + " of session " +
                         std::to_string(p.sid) + ", whose leader has exited: only that session's own group, or one "
                         "the process leads, can be recreated");
      if (auto [it, fresh] = helper_parent.emplace(p.sid, p.parent); !fresh && it->second != size_t(p.parent))
        throw ImageError(who + " and a process of another parent are in session " + std::to_string(p.sid) +
                         ", whose leader has exited: it can be recreated under one parent only");
      p.session_helper = p.sid;
      continue;
    }
    if (p.pgid == p.pid || !index.count(p.pgid)) continue;
    const TreeProcess& leader = tree.procs[index[p.pgid]];
    if (index[p.pgid] > i || leader.sid != p.sid)
      throw ImageError(who + " is in process group " + std::to_string(p.pgid) +
                       ", whose leader comes after it or is in another session");
  }
}

void check_shared_files(const TreeImage& tree) {
  std::map<pid_t, const Image*> by_pid;
  for (const auto& img : tree.images) by_pid[img.pid] = &img;
  for (const auto& group : tree.shared_files)
    for (const auto& [pid, fd] : group) {
      const Image& img = *by_pid.at(pid);
      const bool open = std::any_of(img.fds.begin(), img.fds.end(), [fd = fd](const FdEntry& e) { return e.fd == fd; });
      if (!open)
        throw ImageError(fmt::kTreeManifest + std::string(": shared_files names fd ") + std::to_string(fd) +
                         " of process " + std::to_string(pid) + ", which it did not have open");
    }
}

// Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, SysV) inherited
// through fork is one object in several processes; the image holds each
// process's copy and no identity, so restored each would have its own and the
// processes would silently stop seeing each other's writes: refused.
void check_shared_memory(const TreeImage& tree) {
  std::map<uint64_t, pid_t> first;  // a shared anonymous mapping's start -> its first holder
  for (const auto& img : tree.images)
    for (const auto& m : img.mappings) {
      if (!m.shared || m.kind != "anon") continue;
      auto [it, fresh] = first.emplace(m.start, img.pid);
      if (!fresh)
        throw ImageError("processes " + std::to_string(it->second) + " and " + std::to_string(img.pid) +
                         " share anonymous memory at " + hex_range(m.start, m.end) +
                         " (MAP_SHARED, inherited through fork), which a tree restore cannot share again");
    }
}

}  // namespace

void verify_tree(TreeImage& tree, const RestartOptions& opts) {
  std::vector<size_t> live;
  for (size_t i = 0; i < tree.procs.size(); ++i)
    if (!tree.procs[i].zombie) live.push_back(i);
  std::vector<std::optional<Image>> verified(live.size());
  std::vector<std::exception_ptr> failed(live.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k; (k = next++) < live.size();) {
      try {
        const pid_t pid = tree.procs[live[k]].pid;
        auto files = std::make_shared<ImageFiles>(*tree.files, fmt::kProcDirPrefix + std::to_string(pid));
        verified[k] = verify_image(files, opts.verify);
      } catch (...) {
        failed[k] = std::current_exception();
      }
    }
  };
  const size_t nthreads = std::min<size_t>(live.size(), std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < nthreads; ++i) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  // The first failure in tree order, whichever thread met it first.
  for (size_t k = 0; k < live.size(); ++k) {
    if (failed[k]) std::rethrow_exception(failed[k]);
    TreeProcess& p = tree.procs[live[k]];
    Image& img = *verified[k];
    img.owner = image_owner(img.files->owner(), img.files->group(), opts.allow_foreign_files);
    check_against_tree(tree, p, img);
    p.image = static_cast<int>(tree.images.size());
    tree.images.push_back(std::move(img));
  }
  check_sessions(tree);  // after the images: a parent's child_subreaper is in its manifest
  check_shared_files(tree);
  check_shared_memory(tree);
}

}  // namespace ckptsim::restart
