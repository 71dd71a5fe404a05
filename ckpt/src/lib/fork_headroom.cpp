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
char g_path[512];

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

// This process's memory control group directory, v1 ("N:...memory...:/path")
// or v2 ("0::/path"), into g_path; false if it has none.
bool memory_cgroup_dir() {
  char lines[2048];
  const long n = read_small_file(AT_FDCWD, "/proc/self/cgroup", lines, sizeof lines);
  if (n <= 0) return false;
  bool found = false;
  for (size_t i = 0; i < size_t(n);) {
    size_t eol = i;
    while (eol < size_t(n) && lines[eol] != '\n') ++eol;
    size_t c1 = i;
    while (c1 < eol && lines[c1] != ':') ++c1;
    size_t c2 = c1 + 1;
    while (c2 < eol && lines[c2] != ':') ++c2;
    if (c2 < eol) {
      bool v1 = false;
      for (size_t w = c1 + 1; w < c2;) {  // the controller list, comma separated
        size_t e = w;
        while (e < c2 && lines[e] != ',') ++e;
        if (e - w == 6 && starts_with(lines + w, 6, "memory")) v1 = true;
        w = e + 1;
      }
      const bool v2 = c2 == c1 + 1 && starts_with(lines + i, c1 - i, "0") && c1 - i == 1;
      if (v1 || (v2 && !found)) {
        Text t;
        t.reset(g_path, sizeof g_path);
        t.str(v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup").raw(lines + c2 + 1, eol - c2 - 1);
        if (t.overflow) return false;
        found = true;
        if (v1) return true;  // v1 wins: on a hybrid machine the limit is there
      }
    }
    i = eol + 1;
  }
  return found;
}

// What the group can still take without reclaiming anything but clean page cache.
uint64_t cgroup_room(bool* limited) {
  *limited = false;
  if (!memory_cgroup_dir()) return kUnknown;
  char dir[sizeof g_path];
  for (size_t i = 0; i < sizeof dir; ++i) dir[i] = g_path[i];
  auto file = [&](const char* name) {
    Text t;
    t.reset(g_path, sizeof g_path);
    t.str(dir).ch('/').str(name);
    return g_path;
  };
  bool v1 = true;
  uint64_t limit = number_file(file("memory.limit_in_bytes"));
  uint64_t usage = number_file(file("memory.usage_in_bytes"));
  if (limit == kUnknown) {
    v1 = false;
    limit = number_file(file("memory.max"));
    usage = number_file(file("memory.current"));
  }
  // v1 writes "no limit" as a huge multiple of the page size.
  if (limit == kUnknown || usage == kUnknown || limit >= (1ull << 60)) return kUnknown;
  *limited = true;
  uint64_t cache = field_bytes(file("memory.stat"), v1 ? "total_inactive_file " : "inactive_file ");
  if (cache == kUnknown) cache = 0;
  const uint64_t held = usage > cache ? usage - cache : 0;
  return limit > held ? limit - held : 0;
}

}  // namespace

bool fork_has_room(uint64_t* need, uint64_t* room) {
  *need = field_bytes("/proc/self/status", "RssAnon:");
  *room = field_bytes("/proc/meminfo", "MemAvailable:");
  bool limited = false;
  const uint64_t in_group = cgroup_room(&limited);
  if (limited && (in_group < *room || *room == kUnknown)) *room = in_group;
  if (*need == kUnknown || *room == kUnknown) return true;  // nothing to go by: fork (it falls back if it fails)
  return *need <= *room;
}

}  // namespace ckptlib
