// What the exec guard adds to a new program's environment, and whether the
// program will load this library at all (exec_guard.h). Recorded once by the
// constructor into fixed buffers; read, never written, by the exec calls.
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/image_format.h"
#include "dump.h"
#include "exec_guard.h"
#include "sys.h"

namespace ckptlib::exec_guard {
namespace {

namespace env = ckptsim::image_format::env;

constexpr char kPreload[] = "LD_PRELOAD=";
// "CKPT_": the start of every name in image_format.h's env namespace.
constexpr size_t kPrefixLen = 5;
static_assert(env::kDir[kPrefixLen - 1] == '_' && env::kExecBlocked[kPrefixLen - 1] == '_');

// Zero-initialised (no initialiser of its own that could run after the constructor).
struct Recorded {
  int sig;
  bool active;
  char lib[kPathMax];     // this library, absolute
  char preload[kPathMax + sizeof kPreload];  // LD_PRELOAD=lib, for an environment without one
  unsigned long lib_dev, lib_ino;
  size_t nvars;
  const char* vars[kMaxVars];  // NAME=VALUE, into text
  size_t name_len[kMaxVars];   // NAME's length
  int dir_var;                 // CKPT_DIR's index in vars, -1 if none
  char dir_raw[kPathMax];      // CKPT_DIR as the library found it, when relative
  char text[16384];
};
Recorded g;
bool g_said_full = false;

bool starts(const char* s, const char* prefix, size_t n) { return strncmp(s, prefix, n) == 0; }

// `name=` for name = env::kExecBlocked.
bool is_mark(const char* e) {
  const size_t n = sizeof env::kExecBlocked - 1;
  return starts(e, env::kExecBlocked, n) && e[n] == '=';
}

// The recorded variable whose name `e` (NAME=VALUE) has, or -1.
int recorded(const char* e) {
  for (size_t i = 0; i < g.nvars; ++i)
    if (starts(e, g.vars[i], g.name_len[i] + 1)) return int(i);
  return -1;
}

// Appends NAME=VALUE to g.text; false when it is full.
bool record(const char* name, size_t name_len, const char* value, size_t& used) {
  const size_t vlen = strlen(value);
  if (g.nvars == kMaxVars || used + name_len + vlen + 2 > sizeof g.text) return false;
  char* at = g.text + used;
  memcpy(at, name, name_len);
  at[name_len] = '=';
  memcpy(at + name_len + 1, value, vlen + 1);
  g.vars[g.nvars] = at;
  g.name_len[g.nvars++] = name_len;
  used += name_len + vlen + 2;
  return true;
}

void record_vars(const char* dir) {
  size_t used = 0;
  g.dir_var = -1;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = strchr(*e, '=');
    if (!starts(*e, env::kDir, kPrefixLen) || !eq || is_mark(*e)) continue;
    const size_t name_len = size_t(eq - *e);
    const bool is_dir = name_len == sizeof env::kDir - 1 && starts(*e, env::kDir, name_len);
    if (is_dir && eq[1] != '/' && strlen(eq + 1) < sizeof g.dir_raw) strcpy(g.dir_raw, eq + 1);
    if (is_dir && dir) continue;  // the resolved one below
    if (!record(*e, name_len, eq + 1, used)) say("ckpt: too many CKPT_ variables; not passed on to exec: ", *e);
  }
  if (dir) {
    g.dir_var = int(g.nvars);
    if (!record(env::kDir, sizeof env::kDir - 1, dir, used)) g.dir_var = -1;
  }
}

// This library's absolute path and file identity.
bool record_lib() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&record_lib), &info) || !info.dli_fname || !*info.dli_fname) return false;
  size_t len = 0;
  if (info.dli_fname[0] != '/') {
    if (!getcwd(g.lib, sizeof g.lib - 1)) return false;
    len = strlen(g.lib);
    g.lib[len++] = '/';
  }
  if (len + strlen(info.dli_fname) >= sizeof g.lib) return false;
  strcpy(g.lib + len, info.dli_fname);
  struct stat st;
  if (sys::fstatat(AT_FDCWD, g.lib, &st, 0) != 0) return false;
  g.lib_dev = st.st_dev;
  g.lib_ino = st.st_ino;
  memcpy(g.preload, kPreload, sizeof kPreload - 1);
  strcpy(g.preload + sizeof kPreload - 1, g.lib);
  return true;
}

// Does LD_PRELOAD's value (entries split by ':' or ' ') name this library?
bool names_us(const char* value) {
  char entry[kPathMax];
  while (*value) {
    const size_t n = strcspn(value, ": ");
    if (n > 0 && n < sizeof entry) {
      memcpy(entry, value, n);
      entry[n] = 0;
      struct stat st;
      if (strcmp(entry, g.lib) == 0) return true;
      if (sys::fstatat(AT_FDCWD, entry, &st, 0) == 0 && st.st_dev == g.lib_dev && st.st_ino == g.lib_ino)
        return true;
    }
    value += n;
    if (*value) ++value;
  }
  return false;
}

// The LD_PRELOAD entry to pass: `e` itself, or `e` with this library added (in
// room); nullptr when it does not fit.
const char* preload_entry(const char* e, EnvRoom& room) {
  const char* value = e + sizeof kPreload - 1;
  if (names_us(value)) return e;
  const size_t have = strlen(e), lib = strlen(g.lib);
  if (have + lib + 2 > sizeof room.preload) return nullptr;
  memcpy(room.preload, e, have);
  size_t at = have;
  if (*value) room.preload[at++] = ':';
  memcpy(room.preload + at, g.lib, lib + 1);
  return room.preload;
}

}  // namespace

void say(const char* a, const char* b) {
  write_all(2, a, strlen(a));
  write_all(2, b, strlen(b));
  write_all(2, "\n", 1);
}

void start(int sig, const char* dir) {
  lookup_all();
  g.active = record_lib();
  if (!g.active) {
    say("ckpt: cannot find libckpt.so's own path: programs this one execs may run without it");
    return;
  }
  record_vars(dir);
  g.sig = sig;
}

int take_mark() {
  for (char** e = environ; e && *e; ++e) {
    if (!is_mark(*e)) continue;
    const int sig = atoi(*e + sizeof env::kExecBlocked);
    unsetenv(env::kExecBlocked);
    return sig >= 1 && sig <= 64 ? sig : 0;
  }
  return 0;
}

int checkpoint_signal() { return g.active ? g.sig : 0; }
bool active() { return g.active; }

size_t count(char* const* envp) {
  size_t n = 0;
  while (envp && envp[n] && n <= kMaxEnv) ++n;
  return n;
}

char* const* complete_env(char* const* envp, size_t n, const char** out, EnvRoom* room, int mark_sig) {
  if (n > kMaxEnv || !out || !room) {
    if (!g_said_full) say("ckpt: an exec with more than 8192 environment variables: passed on without libckpt.so");
    g_said_full = true;
    return nullptr;
  }
  bool have[kMaxVars] = {}, preload = false;
  size_t o = 0;
  for (size_t i = 0; i < n; ++i) {
    const char* e = envp[i];
    if (is_mark(e)) continue;
    if (!preload && starts(e, kPreload, sizeof kPreload - 1)) {
      preload = true;
      e = preload_entry(e, *room);
      if (!e) return say("ckpt: an exec with an LD_PRELOAD too long to add libckpt.so to: passed on unchanged"), nullptr;
    } else if (const int v = recorded(e); v >= 0) {
      have[v] = true;
      // The directory as the library found it, relative: the one it resolved.
      if (v == g.dir_var && g.dir_raw[0] && strcmp(e + g.name_len[v] + 1, g.dir_raw) == 0) e = g.vars[v];
    }
    out[o++] = e;
  }
  if (!preload) out[o++] = g.preload;
  for (size_t v = 0; v < g.nvars; ++v)
    if (!have[v]) out[o++] = g.vars[v];
  if (mark_sig) {
    const size_t len = sizeof env::kExecBlocked - 1;
    memcpy(room->mark, env::kExecBlocked, len);
    room->mark[len] = '=';
    char* d = room->mark + len + 1;
    if (mark_sig >= 10) *d++ = char('0' + mark_sig / 10);
    *d++ = char('0' + mark_sig % 10);
    *d = 0;
    out[o++] = room->mark;
  }
  out[o] = nullptr;
  return const_cast<char* const*>(out);
}

bool loads_library(int dirfd, const char* path, int at_flags) {
  char proc[40] = "/proc/self/fd/";
  if ((at_flags & AT_EMPTY_PATH) && (!path || !*path)) {
    char digits[16];
    int n = 0;
    for (unsigned v = unsigned(dirfd); n == 0 || v; v /= 10) digits[n++] = char('0' + v % 10);
    char* d = proc + strlen(proc);
    while (n) *d++ = digits[--n];
    *d = 0;
    dirfd = AT_FDCWD;
    path = proc;
  }
  const long fd = sys::openat(dirfd, path, O_RDONLY | O_CLOEXEC | ((at_flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
  if (fd < 0) return true;  // the kernel decides; a new image that loads us unblocks all the same
  struct stat st;
  Elf64_Ehdr eh{};
  Elf64_Phdr ph[64];
  bool loads = true;
  if (sys::fstat(int(fd), &st) == 0 &&
      (((st.st_mode & S_ISUID) && st.st_uid != unsigned(sys::getuid())) ||
       ((st.st_mode & S_ISGID) && st.st_gid != unsigned(sys::getgid())) || sys::geteuid() != sys::getuid()))
    loads = false;  // a secure exec: the loader ignores our LD_PRELOAD
  else if (sys::pread(int(fd), &eh, sizeof eh, 0) == long(sizeof eh) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0) {
    loads = eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_machine == EM_X86_64;
    const size_t n = eh.e_phnum;
    if (loads && eh.e_phentsize == sizeof(Elf64_Phdr) && n <= 64 &&
        sys::pread(int(fd), ph, n * sizeof(Elf64_Phdr), long(eh.e_phoff)) == long(n * sizeof(Elf64_Phdr))) {
      loads = false;
      for (size_t i = 0; i < n; ++i) loads = loads || ph[i].p_type == PT_INTERP;
    }
  }  // else a script: its interpreter runs (assumed dynamic)
  sys::close(int(fd));
  return loads;
}

bool found_loads_library(const char* file) {
  if (!file || !*file || strchr(file, '/')) return loads_library(AT_FDCWD, file, 0);
  const char* path = getenv("PATH");
  if (!path) path = "/bin:/usr/bin";
  char candidate[kPathMax];
  const size_t flen = strlen(file);
  while (true) {
    const size_t n = strcspn(path, ":");
    if (n + flen + 2 <= sizeof candidate) {
      memcpy(candidate, path, n);
      size_t at = n;
      if (n) candidate[at++] = '/';
      memcpy(candidate + at, file, flen + 1);
      if (sys::faccessat(AT_FDCWD, candidate, X_OK) == 0) return loads_library(AT_FDCWD, candidate, 0);
    }
    if (!path[n]) return true;
    path += n + 1;
  }
}

}  // namespace ckptlib::exec_guard
