// tree.json, read strictly (docs/image-format.md "Process trees"): every
// field present with its type, nothing unknown, its own checksum, and the
// processes forming one tree rooted at `root`, listed parents first. The
// tree's directory holds exactly tree.json and one proc-PID per live process.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "ckpt/image_summary.h"
#include "image_files.h"
#include "tree.h"

namespace ckptsim::restart {
namespace {

using json = nlohmann::json;
constexpr uint64_t kMaxPid = 4194304;  // PID_MAX_LIMIT

[[noreturn]] void bad(const std::string& why) { throw ImageError(std::string(fmt::kTreeManifest) + ": " + why); }

const json& field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) bad("missing field " + where + key);
  return *it;
}

uint64_t u64(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  if (!v.is_number_unsigned()) bad("field " + where + key + " is not an unsigned integer");
  return v.get<uint64_t>();
}

std::string text(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  if (!v.is_string()) bad("field " + where + key + " is not a string");
  return v.get<std::string>();
}

void only_keys(const json& j, std::initializer_list<const char*> keys, const std::string& where) {
  for (const auto& [k, v] : j.items())
    if (std::none_of(keys.begin(), keys.end(), [&](const char* known) { return k == known; }))
      bad("unknown field " + where + k);
}

pid_t pid_field(const json& j, const char* key, const std::string& where) {
  const uint64_t v = u64(j, key, where);
  if (v == 0 || v > kMaxPid) bad("field " + where + key + " is not a pid (" + std::to_string(v) + ")");
  return static_cast<pid_t>(v);
}

pid_t group_field(const json& j, const char* key, const std::string& where) {
  const uint64_t v = u64(j, key, where);
  if (v > kMaxPid) bad("field " + where + key + " is not a pid (" + std::to_string(v) + ")");
  return static_cast<pid_t>(v);
}

TreeProcess read_process(const json& p, size_t i) {
  const std::string where = "processes[" + std::to_string(i) + "].";
  if (!p.is_object()) bad(where + " is not an object");
  only_keys(p, {"pid", "ppid", "pgid", "sid", "comm", "state", "image", "exit_status"}, where);
  TreeProcess t;
  t.pid = pid_field(p, "pid", where);
  if (t.pid == 1)
    bad("the tree records pid 1 (an init of its own): a tree whose process was pid 1 cannot be restored under "
        "the restarter's init");
  t.ppid = static_cast<pid_t>(std::min<uint64_t>(u64(p, "ppid", where), INT_MAX));
  // 0: a group or session led from outside the job's pid namespace (a
  // restored tree's, checkpointed again): it stays its parent's on restore.
  t.pgid = group_field(p, "pgid", where);
  t.sid = group_field(p, "sid", where);
  t.comm = text(p, "comm", where);
  const std::string state = text(p, "state", where);
  if (state == "zombie") {
    t.zombie = true;
    if (p.contains("image")) bad("zombie " + std::to_string(t.pid) + " has an image");
    const uint64_t st = u64(p, "exit_status", where);
    if (st > 0xffff) bad("exit_status of zombie " + std::to_string(t.pid) + " is not a wait status");
    t.exit_status = static_cast<int>(st);
  } else if (state == "live") {
    if (p.contains("exit_status")) bad("live process " + std::to_string(t.pid) + " has an exit_status");
    if (text(p, "image", where) != fmt::kProcDirPrefix + std::to_string(t.pid))
      bad("the image of process " + std::to_string(t.pid) + " is not " + fmt::kProcDirPrefix + std::to_string(t.pid));
  } else {
    bad("process " + std::to_string(t.pid) + " has state \"" + state + "\" (live or zombie)");
  }
  return t;
}

// Every process but the root has its parent in the tree, listed before it;
// following parents from any process ends at the root.
void link_processes(TreeImage& tree) {
  std::map<pid_t, size_t> index;
  for (size_t i = 0; i < tree.procs.size(); ++i)
    if (!index.emplace(tree.procs[i].pid, i).second) bad("pid " + std::to_string(tree.procs[i].pid) + " is listed twice");
  if (tree.procs[0].pid != tree.root) bad("the first process is not the root " + std::to_string(tree.root));
  if (tree.procs[0].zombie) bad("the root " + std::to_string(tree.root) + " is a zombie");
  if (index.count(tree.procs[0].ppid)) bad("the root's parent " + std::to_string(tree.procs[0].ppid) + " is in the tree");
  for (size_t i = 1; i < tree.procs.size(); ++i) {
    auto it = index.find(tree.procs[i].ppid);
    if (it == index.end())
      bad("the parent " + std::to_string(tree.procs[i].ppid) + " of process " + std::to_string(tree.procs[i].pid) +
          " is not in the tree");
    tree.procs[i].parent = static_cast<int>(it->second);
  }
  for (size_t i = 1; i < tree.procs.size(); ++i) {
    size_t steps = 0;
    for (int at = static_cast<int>(i); at != 0; at = tree.procs[at].parent)
      if (++steps > tree.procs.size()) bad("the parents of process " + std::to_string(tree.procs[i].pid) + " form a cycle");
  }
  for (size_t i = 1; i < tree.procs.size(); ++i) {
    TreeProcess& parent = tree.procs[tree.procs[i].parent];
    if (tree.procs[i].parent >= static_cast<int>(i))
      bad("process " + std::to_string(tree.procs[i].pid) + " is listed before its parent");
    if (parent.zombie) bad("zombie " + std::to_string(parent.pid) + " has children");
    parent.children.push_back(i);
  }
}

void read_shared_files(const json& groups, TreeImage& tree) {
  if (!groups.is_array()) bad("field shared_files is not an array");
  std::set<pid_t> live;
  for (const auto& p : tree.procs)
    if (!p.zombie) live.insert(p.pid);
  std::set<std::pair<pid_t, int>> seen;
  for (const json& g : groups) {
    if (!g.is_array() || g.size() < 2) bad("a shared_files group is not an array of two or more");
    std::set<pid_t> holders;
    tree.shared_files.emplace_back();
    for (const json& e : g) {
      if (!e.is_object()) bad("a shared_files entry is not an object");
      only_keys(e, {"pid", "fd"}, "shared_files[].");
      const pid_t pid = pid_field(e, "pid", "shared_files[].");
      const uint64_t fd = u64(e, "fd", "shared_files[].");
      if (fd > INT_MAX) bad("shared_files: fd " + std::to_string(fd) + " is not a descriptor number");
      if (!live.count(pid)) bad("shared_files names pid " + std::to_string(pid) + ", not a live process of the tree");
      if (!holders.insert(pid).second) bad("a shared_files group names process " + std::to_string(pid) + " twice");
      if (!seen.insert({pid, static_cast<int>(fd)}).second)
        bad("fd " + std::to_string(fd) + " of process " + std::to_string(pid) + " is in two shared_files groups");
      tree.shared_files.back().emplace_back(pid, static_cast<int>(fd));
    }
  }
}

// The directory holds tree.json and one proc-PID directory per live process,
// and, an incremental tree image, `parent` (its parent tree image's name); nothing else.
void check_entries(const TreeImage& tree) {
  std::set<std::string> expected{fmt::kTreeManifest};
  std::set<std::string> optional{fmt::kParentFile};
  for (const auto& p : tree.procs)
    if (!p.zombie) expected.insert(fmt::kProcDirPrefix + std::to_string(p.pid));
  const int fd = ::openat(tree.files->dir_fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (!d) throw ImageError("cannot list " + tree.files->dir().string());
  std::set<std::string> found;
  std::string extra;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!expected.count(name) && !optional.count(name) && extra.empty()) extra = name;
    found.insert(name);
  }
  ::closedir(d);
  if (!extra.empty()) throw ImageError((tree.files->dir() / extra).string() + " is not part of the tree image");
  for (const auto& name : expected)
    if (!found.count(name)) throw ImageError("missing " + (tree.files->dir() / name).string());
}

}  // namespace

bool is_tree_image(const std::filesystem::path& image) {
  try {
    ImageFiles files(image);
    struct stat st {};
    return ::fstatat(files.dir_fd(), fmt::kTreeManifest, &st, AT_SYMLINK_NOFOLLOW) == 0;
  } catch (const std::exception&) {
    return false;
  }
}

TreeImage read_tree_manifest(const std::filesystem::path& image) {
  TreeImage tree;
  tree.files = std::make_shared<ImageFiles>(image);
  const std::string body = tree.files->read_all(fmt::kTreeManifest);
  if (std::string why = ckpt::own_checksum_problem(body); !why.empty()) bad(why);
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) bad("not a JSON object");
  only_keys(j, {fmt::key::kFormat, fmt::key::kFormatVersion, fmt::key::kSeq, "root", fmt::key::kCreatedNs,
                "processes", "shared_files", fmt::key::kOwnChecksum}, "");
  if (text(j, fmt::key::kFormat, "") != fmt::kTreeFormatName)
    bad(std::string("not a ckptsim tree (format is not \"") + fmt::kTreeFormatName + "\")");
  if (const uint64_t v = u64(j, fmt::key::kFormatVersion, ""); v != static_cast<uint64_t>(fmt::kTreeVersion))
    bad("tree format version " + std::to_string(v) + " is not supported (this restarter reads version " +
        std::to_string(fmt::kTreeVersion) + ")");
  tree.seq = static_cast<int>(std::min<uint64_t>(u64(j, fmt::key::kSeq, ""), INT_MAX));
  tree.root = pid_field(j, "root", "");
  u64(j, fmt::key::kCreatedNs, "");
  const json& procs = field(j, "processes", "");
  if (!procs.is_array() || procs.empty()) bad("field processes is not a non-empty array");
  for (size_t i = 0; i < procs.size(); ++i) tree.procs.push_back(read_process(procs[i], i));
  link_processes(tree);
  read_shared_files(field(j, "shared_files", ""), tree);
  check_entries(tree);
  return tree;
}

}  // namespace ckptsim::restart
