// Is there room for a forked dump? After the fork, every page the job writes
// while the writer works is copied, up to all of its anonymous memory. Where
// that much is not free (a node sized for its job, a memory-limited control
// group) the copies would be paid by the OOM killer, and it picks the biggest
// process: the job. So a forked dump goes ahead only if the job's resident
// anonymous memory (RssAnon, the most the copies can take) fits in what is
// available: MemAvailable, and under a memory control group its limit less
// what it holds that cannot be reclaimed (usage less inactive page cache).
#include <fcntl.h>

#include "dump.h"
#include "sys.h"

namespace ckptlib {

namespace {

char g_text[8192];  // the files read here; used only on the signal path, one dump at a time
char g_path[600];

constexpr uint64_t kUnknown = ~0ull;

// The number after `key` in a "Key: value [kB]" or "key value" file, in bytes
// (kB when the line says so); kUnknown when the file or the key is missing.
uint64_t field_bytes(const char* path, const char* key) {
  const long n = read_small_file(AT_FDCWD, path, g_text, sizeof g_text);
  if (n <= 0) return kUnknown;
  for (size_t i = 0; i < size_t(n);) {
    size_t eol = i;
    while (eol < size_t(n) && g_text[eol] != '\n') ++eol;
    if (starts_with(g_text + i, eol - i, key)) {
      size_t p = i;
      while (p < eol && g_text[p] != ' ' && g_text[p] != '\t') ++p;
      while (p < eol && (g_text[p] == ' ' || g_text[p] == '\t')) ++p;
      const size_t digits = p;
      const uint64_t v = parse_unsigned(g_text, eol, &p, 10);
      if (p == digits) return kUnknown;
      while (p < eol && g_text[p] == ' ') ++p;
      return starts_with(g_text + p, eol - p, "kB") ? v * 1024 : v;
    }
    i = eol + 1;
  }
  return kUnknown;
}

// A whole file that holds one number ("max" and unreadable: kUnknown).
uint64_t number_file(const char* path) {
  const long n = read_small_file(AT_FDCWD, path, g_text, sizeof g_text);
  if (n <= 0) return kUnknown;
  size_t p = 0;
  const uint64_t v = parse_unsigned(g_text, size_t(n), &p, 10);
  return p == 0 ? kUnknown : v;
}

char g_dir[512];   // the group directory being looked at
size_t g_root_len;  // the length of the hierarchy's mount point at its start

// This process's memory control group directory, v1 ("N:...memory...:/path")
// or v2 ("0::/path"), into g_dir; 0 if it has none, else the version. In a
// container without its own cgroup namespace the path names a directory the
// container does not see: then the mount point, which is its group.
int memory_cgroup_dir() {
  const long n = read_small_file(AT_FDCWD, "/proc/self/cgroup", g_text, sizeof g_text);
  if (n <= 0) return 0;
  int version = 0;
  for (size_t i = 0; i < size_t(n) && version != 1;) {
    size_t eol = i;
    while (eol < size_t(n) && g_text[eol] != '\n') ++eol;
    size_t c1 = i;
    while (c1 < eol && g_text[c1] != ':') ++c1;
    size_t c2 = c1 + 1;
    while (c2 < eol && g_text[c2] != ':') ++c2;
    if (c2 < eol) {
      bool v1 = false;
      for (size_t w = c1 + 1; w < c2;) {  // the controller list, comma separated
        size_t e = w;
        while (e < c2 && g_text[e] != ',') ++e;
        if (e - w == 6 && starts_with(g_text + w, 6, "memory")) v1 = true;
        w = e + 1;
      }
      const bool v2 = c2 == c1 + 1 && c1 - i == 1 && g_text[i] == '0';
      if (v1 || (v2 && !version)) {  // v1 wins: on a hybrid machine the limit is there
        const char* root = v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup";
        Text t;
        t.reset(g_dir, sizeof g_dir);
        t.str(root);
        g_root_len = t.len;
        t.raw(g_text + c2 + 1, eol - c2 - 1);
        if (t.overflow) return 0;
        while (t.len > g_root_len && g_dir[t.len - 1] == '/') g_dir[--t.len] = 0;
        version = v1 ? 1 : 2;
      }
    }
    i = eol + 1;
  }
  if (!version) return 0;
  const long fd = sys::openat(AT_FDCWD, g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) g_dir[g_root_len] = 0;
  else sys::close(int(fd));
  return version;
}

const char* group_file(const char* name) {
  Text t;
  t.reset(g_path, sizeof g_path);
  t.str(g_dir).ch('/').str(name);
  return t.overflow ? "/nonexistent" : g_path;
}

// What the group in g_dir can still take without reclaiming anything but
// clean page cache; kUnknown if it has no limit (or says nothing).
uint64_t room_of_group(int version) {
  const bool v1 = version == 1;
  const uint64_t limit = number_file(group_file(v1 ? "memory.limit_in_bytes" : "memory.max"));
  // v1 writes "no limit" as a huge multiple of the page size, v2 as "max".
  if (limit == kUnknown || limit >= (1ull << 60)) return kUnknown;
  const uint64_t usage = number_file(group_file(v1 ? "memory.usage_in_bytes" : "memory.current"));
  if (usage == kUnknown) return kUnknown;
  uint64_t cache = field_bytes(group_file("memory.stat"), v1 ? "total_inactive_file " : "inactive_file ");
  if (cache == kUnknown) cache = 0;
  const uint64_t held = usage > cache ? usage - cache : 0;
  return limit > held ? limit - held : 0;
}

// The least room of the job's group and every group above it: a limit on a
// parent (a Slurm job above its step and task groups) binds as much.
uint64_t cgroup_room() {
  const int version = memory_cgroup_dir();
  if (!version) return kUnknown;
  uint64_t least = kUnknown;
  for (size_t len = cstr_len(g_dir);;) {
    const uint64_t room = room_of_group(version);
    if (room < least) least = room;
    if (len <= g_root_len) break;
    while (len > g_root_len && g_dir[len - 1] != '/') --len;
    if (len > g_root_len) --len;  // the '/' itself
    g_dir[len] = 0;
  }
  return least;
}

}  // namespace

namespace {

bool room_for(uint64_t* need, uint64_t* room) {
  *room = field_bytes("/proc/meminfo", "MemAvailable:");
  const uint64_t in_group = cgroup_room();
  if (in_group < *room) *room = in_group;  // kUnknown is the largest value
  if (*need == kUnknown || *room == kUnknown) return true;  // nothing to go by: fork (it falls back if it fails)
  return *need <= *room;
}

}  // namespace

bool fork_has_room(uint64_t* need, uint64_t* room) {
  *need = field_bytes("/proc/self/status", "RssAnon:");
  return room_for(need, room);
}

// A tree's processes are all forked at once: their copies add up.
bool tree_fork_has_room(const int32_t* pids, size_t n, uint64_t* need, uint64_t* room) {
  *need = 0;
  for (size_t i = 0; i < n && *need != kUnknown; ++i) {
    char path[64];
    Text t;
    t.reset(path, sizeof path);
    t.str("/proc/").dec(uint64_t(pids[i])).str("/status");
    const uint64_t one = field_bytes(path, "RssAnon:");
    *need = one == kUnknown ? kUnknown : *need + one;
  }
  return room_for(need, room);
}

}  // namespace ckptlib
