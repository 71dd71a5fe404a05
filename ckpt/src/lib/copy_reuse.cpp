// Unchanged copies linked from the parent image (copy_reuse.h).
#include "copy_reuse.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "dump.h"
#include "text.h"
#include "hash.h"
#include "sys.h"

namespace ckptlib {
namespace {

const char* find(const char* hay, size_t n, const char* needle, size_t m, size_t from) {
  if (m == 0 || n < m) return nullptr;
  for (size_t i = from; i + m <= n; ++i) {
    size_t k = 0;
    while (k < m && hay[i + k] == needle[k]) ++k;
    if (k == m) return hay + i;
  }
  return nullptr;
}

// The number after `key` ("\"size\":") in [at, end); false if it is not there.
bool number_after(const char* at, const char* end, const char* key, uint64_t* v) {
  const char* p = find(at, size_t(end - at), key, cstr_len(key), 0);
  if (!p) return false;
  size_t pos = cstr_len(key);
  const size_t n = size_t(end - p);
  const size_t start = pos;
  *v = parse_unsigned(p, n, &pos, 10);
  return pos > start;
}

// The string after `key` ("\"copy\":\"") up to its closing quote, into out.
bool string_after(const char* at, const char* end, const char* key, char* out, size_t cap) {
  const char* p = find(at, size_t(end - at), key, cstr_len(key), 0);
  if (!p) return false;
  p += cstr_len(key);
  size_t i = 0;
  for (; p + i < end && p[i] != '"'; ++i) {
    if (i + 1 >= cap || p[i] == '\\') return false;
    out[i] = p[i];
  }
  if (p + i >= end) return false;
  out[i] = 0;
  return true;
}

bool hash_after(const char* at, const char* end, uint64_t* v) {
  char hex[24];
  if (!string_after(at, end, "\"xxh3\":\"", hex, sizeof hex)) return false;
  size_t pos = 0;
  *v = parse_unsigned(hex, cstr_len(hex), &pos, 16);
  return pos == 16 && hex[16] == 0;
}

// "files/NAME" with NAME a plain name, or "exe".
bool plain_copy_name(const char* c) {
  const size_t prefix = sizeof fmt::kFilesDir;  // "files/"
  if (cstr_eq(c, fmt::kExeCopy)) return true;
  if (!starts_with(c, cstr_len(c), fmt::kFilesDir) || c[prefix - 1] != '/' || !c[prefix]) return false;
  for (const char* p = c + prefix; *p; ++p)
    if (*p == '/') return false;
  return !cstr_eq(c + prefix, ".") && !cstr_eq(c + prefix, "..");
}

long pread_all_hash(Dump& d, int fd, uint64_t* size, uint64_t* out) {
  const HashOps& hash = hash_ops();
  auto* state = static_cast<HashState*>(d.xxh_state);
  hash.reset(state);
  uint64_t off = 0;
  for (;;) {
    long n = sys::pread(fd, d.io_buf, kIoBufSize, long(off));
    if (n == -EINTR) continue;
    if (n < 0) return n;
    if (n == 0) break;
    hash.update(state, d.io_buf, size_t(n));
    off += uint64_t(n);
  }
  *size = off;
  *out = hash.digest(state);
  return 0;
}

}  // namespace

void link_block_sums(Dump& d, const char* parent_copy, int dst_dir, const char* name) {
  char from[96], to[96];
  Text t;
  t.reset(from, sizeof from);
  t.str(parent_copy).str(fmt::kBlockSumsSuffix);
  if (t.overflow) return;
  t.reset(to, sizeof to);
  t.str(name).str(fmt::kBlockSumsSuffix);
  if (t.overflow) return;
  sys::linkat(d.parent_dirfd, from, dst_dir, to, 0);  // without it the next image copies the whole file
}

bool find_parent_copy(const Dump& d, const char* path, size_t path_len, ParentCopy* out) {
  const char* text = d.manifest;
  const size_t n = d.parent_manifest_len;
  const char* end = text + n;
  if (!path) {
    const char* at = find(text, n, "\"exe_copy\":{", 12, 0);
    if (!at) return false;
    const char* close = find(at, size_t(end - at), "}", 1, 0);
    if (!close) return false;
    for (size_t i = 0; i < sizeof fmt::kExeCopy; ++i) out->name[i] = fmt::kExeCopy[i];
    out->delta = false;
    return number_after(at, close, "\"size\":", &out->size) && hash_after(at, close, &out->xxh3);
  }
  // The path as the manifest spells it: "path":"<JSON string>".
  char key[2 * kPathMax + 16];  // a path that escapes to more is copied, not looked up
  Text t;
  t.reset(key, sizeof key);
  t.str("\"path\":").json_str(path, path_len);
  if (t.overflow) return false;
  for (size_t from = 0;;) {
    const char* at = find(text, n, key, t.len, from);
    if (!at) return false;
    from = size_t(at - text) + t.len;
    // This entry's keys come before the next entry's path.
    const char* next = find(text, n, "\"path\":", 7, from);
    const char* stop = next ? next : end;
    if (string_after(at, stop, "\"copy\":\"", out->name, sizeof out->name) && plain_copy_name(out->name) &&
        number_after(at, stop, "\"size\":", &out->size) && hash_after(at, stop, &out->xxh3)) {
      out->delta = find(at, size_t(stop - at), "\"delta\":{", 9, 0) != nullptr;
      return true;
    }
  }
}

bool link_unchanged(Dump& d, int src, const char* path, size_t path_len, int dst_dir, const char* name, uint64_t* size,
                    uint64_t* hash) {
  if (!d.incremental || d.parent_dirfd < 0 || d.parent_manifest_len == 0) return false;
  ParentCopy pc;
  if (!find_parent_copy(d, path, path_len, &pc) || pc.delta) return false;
  struct stat st;
  if (sys::fstat(src, &st) != 0 || !S_ISREG(st.st_mode) || uint64_t(st.st_size) != pc.size) return false;
  struct stat pst;
  if (sys::fstatat(d.parent_dirfd, pc.name, &pst, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(pst.st_mode) ||
      uint64_t(pst.st_size) != pc.size)
    return false;
  uint64_t now_size = 0, now_hash = 0;
  if (pread_all_hash(d, src, &now_size, &now_hash) != 0 || now_size != pc.size || now_hash != pc.xxh3) return false;
  if (sys::linkat(d.parent_dirfd, pc.name, dst_dir, name, 0) != 0) return false;
  link_block_sums(d, pc.name, dst_dir, name);
  *size = now_size;
  *hash = now_hash;
  return true;
}

}  // namespace ckptlib
