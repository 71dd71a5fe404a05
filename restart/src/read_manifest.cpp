// manifest.json -> Image. Every field the restore needs must be present and of
// the right type: a missing one is an ImageError naming it.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <iterator>
#include <cstdint>

#include "ckpt/image_summary.h"
#include "image_files.h"
#include "phases.h"
#include "util/hex.h"

namespace ckptsim::restart {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& what) { throw ImageError("manifest.json: " + what); }

const json& field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) bad("missing field " + where + key);
  return *it;
}
uint64_t u64(const json& j, const char* key, const std::string& where = "") {
  const json& v = field(j, key, where);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    bad("field " + where + key + " is not an unsigned integer");
  return v.get<uint64_t>();
}
std::string str(const json& j, const char* key, const std::string& where = "") {
  const json& v = field(j, key, where);
  if (!v.is_string()) bad("field " + where + key + " is not a string");
  return v.get<std::string>();
}
bool boolean(const json& j, const char* key, const std::string& where = "") {
  const json& v = field(j, key, where);
  if (!v.is_boolean()) bad("field " + where + key + " is not a boolean");
  return v.get<bool>();
}
std::string opt_str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
// An unsigned field that must lie in [lo, hi]: nothing is truncated.
uint64_t ranged(const json& j, const char* key, const std::string& where, uint64_t lo, uint64_t hi) {
  const uint64_t v = u64(j, key, where);
  if (v < lo || v > hi)
    bad("field " + where + key + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
        std::to_string(hi) + "]");
  return v;
}
int pid_field(const json& j, const char* key, const std::string& where) {
  return static_cast<int>(ranged(j, key, where, 1, 4194304));  // pid_max's ceiling
}
uint32_t u32(const json& j, const char* key, const std::string& where) {
  return static_cast<uint32_t>(ranged(j, key, where, 0, UINT32_MAX));
}
// A 16-hex-digit XXH3 checksum.
std::string hash_field(const json& j, const char* key, const std::string& where) {
  std::string h = str(j, key, where);
  if (h.size() != 16 || h.find_first_not_of("0123456789abcdef") != std::string::npos)
    bad("field " + where + key + " is not a checksum (16 lowercase hex digits)");
  return h;
}

// A path the restore will open or write: absolute, and normalised (no empty,
// "." or ".." components), so it names exactly what it says. A deleted file's
// or a memfd's path carries the kernel's " (deleted)" suffix.
std::string path_field(const json& j, const char* key, const std::string& where) {
  const std::string p = str(j, key, where);
  const std::string core = is_deleted_path(p) ? p.substr(0, p.size() - 10) : p;
  if (core.empty() || core[0] != '/') bad("field " + where + key + " \"" + p + "\" is not an absolute path");
  if (core.find('\0') != std::string::npos) bad("field " + where + key + " has a NUL byte");
  size_t start = 1;
  while (start <= core.size()) {
    size_t end = core.find('/', start);
    if (end == std::string::npos) end = core.size();
    const std::string part = core.substr(start, end - start);
    if ((part.empty() && core.size() > 1) || part == "." || part == "..")
      bad("field " + where + key + " \"" + p + "\" is not a normalised path (empty, . or .. components)");
    start = end + 1;
  }
  return p;
}
// A copy inside the image: "files/NAME" with a plain NAME.
std::string copy_field(const json& j, const char* key, const std::string& where) {
  const std::string c = str(j, key, where);
  const std::string files_prefix = std::string(fmt::kFilesDir) + "/";
  if (c.rfind(files_prefix, 0) != 0 || !is_plain_name(c.substr(files_prefix.size())))
    bad("field " + where + key + " \"" + c + "\" is not a file of the image's files/ directory");
  return c;
}

const json& array(const json& j, const char* key) {
  const json& v = field(j, key, "");
  if (!v.is_array()) bad(std::string("field ") + key + " is not an array");
  return v;
}

uint64_t opt_u64(const json& j, const char* key, const std::string& where) {
  return j.contains(key) ? u64(j, key, where) : 0;
}

ThreadImage read_thread(const json& j, const std::string& where) {
  ThreadImage t;
  if (j.contains("tid")) t.tid = pid_field(j, "tid", where);
  t.fs_base = u64(j, "fs_base", where);
  t.gs_base = u64(j, "gs_base", where);
  t.sigmask = u64(j, "sigmask", where);
  const json& alt = field(j, "sigaltstack", where);
  t.altstack_sp = u64(alt, "sp", where + "sigaltstack.");
  t.altstack_size = u64(alt, "size", where + "sigaltstack.");
  t.altstack_flags = static_cast<int>(u32(alt, "flags", where + "sigaltstack."));
  const json& rseq = field(j, "rseq", where);
  if (!rseq.is_null())
    t.rseq = Rseq{u64(rseq, "area", where + "rseq."), static_cast<uint32_t>(ranged(rseq, "len", where + "rseq.", 32, 4096)),
                  u32(rseq, "sig", where + "rseq.")};
  t.clear_child_tid = opt_u64(j, "clear_child_tid", where);
  if (j.contains("robust_list")) {
    const json& rl = field(j, "robust_list", where);
    t.robust_head = u64(rl, "head", where + "robust_list.");
    t.robust_len = ranged(rl, "len", where + "robust_list.", 0, 4096);
  }
  return t;
}

}  // namespace

// The library ends the manifest with "manifest_xxh3", the checksum of every
// byte before that key: an edit or a torn write shows. It is not a signature:
// whoever can write the image can compute it (docs/restarting.md, "Security").
void check_own_checksum(const std::string& text) {
  if (std::string why = ckpt::own_checksum_problem(text); !why.empty()) bad(why);
}

// The processes around the dumped one (images from the library that refuses a
// process tree; older ones have no "process"). An image holds one process: one
// that records children would restore without them, a wrong result unsaid.
// In a tree image the children are the tree's (read_tree checks them against
// tree.json): they are kept in Image::children.
static void check_process_links(const json& j, bool tree_member, Image& img) {
  auto it = j.find(fmt::key::kProcess);
  if (it == j.end()) return;
  if (!it->is_object()) bad("field process is not an object");
  for (const char* key : {"ppid", "pgid", "sid"}) ranged(*it, key, "process.", 0, 4194304);
  const json& kids = field(*it, "children", "process.");
  if (!kids.is_array()) bad("field process.children is not an array");
  // Recorded since orphans are reparented to the job's first process; older images have none.
  if (auto sub = it->find("child_subreaper"); sub != it->end()) {
    if (!sub->is_boolean()) bad("field process.child_subreaper is not true or false");
    img.child_subreaper = sub->get<bool>();
  }
  if (tree_member) {
    for (const json& k : kids) {
      if (!k.is_number_unsigned() || k.get<uint64_t>() > 4194304) bad("field process.children holds a bad pid");
      img.children.push_back(static_cast<pid_t>(k.get<uint64_t>()));
    }
    return;
  }
  if (kids.empty()) return;
  std::string pids;
  for (size_t i = 0; i < kids.size() && i < 6; ++i)
    pids += (i ? ", " : "") + (kids[i].is_number_unsigned() ? std::to_string(kids[i].get<uint64_t>()) : "?");
  if (kids.size() > 6) pids += " and " + std::to_string(kids.size() - 6) + " more";
  bad("the image records " + std::to_string(kids.size()) + " child process" + (kids.size() > 1 ? "es" : "") + " (" +
      pids + ") that it does not hold: restored alone, the job would go on without them");
}

namespace {

// The manifest's own rules first: JSON, the format's name and version, its
// checksum and, for an incremental image, its parent.
uint64_t read_header(const std::string& text, json& j, Image& img) {
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad(std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad("not a JSON object");
  if (opt_str(j, fmt::key::kFormat) != fmt::kFormatName)
    bad(std::string("not a ckptsim image (format is not \"") + fmt::kFormatName + "\")");
  const uint64_t version = u64(j, fmt::key::kFormatVersion);
  if (!fmt::is_supported_version(static_cast<long>(std::min<uint64_t>(version, LONG_MAX))))
    bad("image format version " + std::to_string(version) + " is not supported (this restarter reads versions " +
        std::to_string(fmt::kOldestVersion) + " to " + std::to_string(fmt::kNewestVersion) + ")");

  if (version >= fmt::kFullVersion) check_own_checksum(text);
  img.manifest_text_xxh3 = util::xxh3_hex(text.data(), text.size());
  if (version == fmt::kIncrementalVersion) {  // a parent beside it
    const json& p = field(j, fmt::key::kParent, "");
    ParentRef ref{str(p, fmt::key::kParentImage, "parent."), hash_field(p, fmt::key::kOwnChecksum, "parent."),
                  static_cast<int>(ranged(p, fmt::key::kParentChain, "parent.", 1, 1000000))};
    if (fmt::image_number(ref.image.data(), ref.image.size()) == 0)
      bad("parent.image \"" + ref.image + "\" is not an image name beside this one (ckpt-NNNN)");
    img.parent = ref;
  } else if (j.contains(fmt::key::kParent)) {
    bad("a parent in a version " + std::to_string(version) + " image (incremental images are version 3)");
  }
  return version;
}

// Per thread what the kernel keeps besides its registers, the main thread
// first (version 1: one thread, its fields at the top level).
void read_threads(const json& j, uint64_t version, Image& img) {
  if (version == 1) {
    img.threads.push_back(read_thread(j, ""));  // single-threaded: the thread's fields are top-level
    img.threads[0].tid = img.pid;
  } else {
    for (const json& t : array(j, "threads")) img.threads.push_back(read_thread(t, "threads[]."));
  }
  if (img.threads.empty()) bad("no threads");
  if (img.threads[0].tid != img.pid) bad("the first thread is not the main thread (tid != pid)");
  for (size_t i = 1; i < img.threads.size(); ++i)
    if (img.threads[i].tid <= 0 || img.threads[i].tid == img.pid) bad("thread " + std::to_string(i) + " has a bad tid");
}

// One mappings[] entry: kind, perms and range consistent; a delta's page
// runs in order, non-empty and inside the mapping.
Mapping read_mapping(const json& m, const Image& img) {
  Mapping map;
  map.start = u64(m, "start", "mappings[].");
  map.end = u64(m, "end", "mappings[].");
  map.perms = str(m, "perms", "mappings[].");
  map.shared = boolean(m, "shared", "mappings[].");
  map.kind = str(m, "kind", "mappings[].");
  map.path = opt_str(m, "path");
  if (map.kind == "file" && map.shared) path_field(m, "path", "mappings[].");  // opened for the mapping
  if (m.contains("file_offset")) map.file_offset = u64(m, "file_offset", "mappings[].");
  map.dumped = boolean(m, "dumped", "mappings[].");
  if (m.contains("dontfork")) map.dontfork = boolean(m, "dontfork", "mappings[].");
  if (map.dumped) map.xxh3 = hash_field(m, "xxh3", "mappings[].");
  static const char* const kKinds[] = {"anon", "file", "heap", "stack", "vdso", "vvar", "vvar_vclock", "vsyscall", "other"};
  if (std::find(std::begin(kKinds), std::end(kKinds), map.kind) == std::end(kKinds))
    bad("mapping kind \"" + map.kind + "\" is not one of anon, file, heap, stack, vdso, vvar, vvar_vclock, vsyscall, other");
  const bool perms_ok = map.perms.size() == 4 && (map.perms[0] == 'r' || map.perms[0] == '-') &&
                        (map.perms[1] == 'w' || map.perms[1] == '-') && (map.perms[2] == 'x' || map.perms[2] == '-') &&
                        (map.perms[3] == 'p' || map.perms[3] == 's') && (map.perms[3] == 's') == map.shared;
  if (!perms_ok) bad("mapping perms \"" + map.perms + "\" is not like \"rw-p\" (or disagrees with shared)");
  if (map.end <= map.start) bad("a mapping ends before it starts");
  if (map.dumped && map.xxh3.empty()) bad("dumped mapping without xxh3");
  if (m.contains("delta")) {
    if (!img.parent || !map.dumped) bad("a mapping delta in an image without a parent, or of a mapping not dumped");
    map.delta = true;
    map.delta_xxh3 = hash_field(m, "delta_xxh3", "mappings[].");
    const json& runs = m["delta"];
    if (!runs.is_array()) bad("field mappings[].delta is not an array");
    const uint64_t pages = (map.end - map.start) / 4096;
    uint64_t next = 0;
    for (const json& r : runs) {
      if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() || !r[1].is_number_unsigned())
        bad("mappings[].delta holds something other than [first, count] pairs");
      const uint64_t first = r[0].get<uint64_t>(), count = r[1].get<uint64_t>();
      if (count == 0 || first < next || first > pages || count > pages - first)
        bad("mappings[].delta runs are empty, overlap, are out of order or past the mapping's end");
      map.runs.emplace_back(first, count);
      next = first + count;
    }
  }
  return map;
}

// An entry's "delta": its copy holds only the ranges changed since the parent
// image's copy (ckpt/src/lib/file_delta.h). The ranges are in order, not
// empty, inside the file, and add up to the copy's own bytes.
void read_copy_delta(const json& entry, const std::string& copy, uint64_t size, const std::string& where, Image& img) {
  auto it = entry.find("delta");
  if (it == entry.end()) return;
  if (!img.parent) bad(where + "delta in an image without a parent");
  const json& d = *it;
  const std::string w = where + "delta.";
  CopyDelta cd;
  cd.parent_copy = copy_field(d, "parent_copy", w);
  cd.parent_size = ranged(d, "parent_size", w, 0, INT64_MAX);
  cd.parent_xxh3 = hash_field(d, "parent_xxh3", w);
  cd.bytes = ranged(d, "bytes", w, 0, INT64_MAX);
  cd.bytes_xxh3 = hash_field(d, "bytes_xxh3", w);
  const json& ranges = field(d, "ranges", w);
  if (!ranges.is_array()) bad("field " + w + "ranges is not an array");
  uint64_t next = 0, total = 0;
  for (const json& r : ranges) {
    if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() || !r[1].is_number_unsigned())
      bad(w + "ranges holds something other than [offset, length] pairs");
    const uint64_t off = r[0].get<uint64_t>(), len = r[1].get<uint64_t>();
    if (len == 0 || off < next || off > size || len > size - off)
      bad(w + "ranges are empty, overlap, are out of order or past the file's size");
    cd.ranges.emplace_back(off, len);
    next = off + len;
    total += len;
  }
  if (total != cd.bytes) bad(w + "ranges add up to " + std::to_string(total) + " bytes, the copy has " + std::to_string(cd.bytes));
  if (!img.copy_deltas.emplace(copy, std::move(cd)).second) bad(where + "copy " + copy + " is named twice");
}

// One fds[] entry: what each kind needs to be reopened, and its kernel object.
FdEntry read_fd(const json& f) {
  FdEntry fd;
  fd.fd = static_cast<int>(ranged(f, "fd", "fds[].", 0, 1 << 20));
  const std::string where = "fds[" + std::to_string(fd.fd) + "].";
  fd.kind = str(f, "kind", where);
  fd.path = opt_str(f, "path");
  fd.flags = static_cast<int>(ranged(f, "flags", where, 0, INT32_MAX));
  fd.cloexec = f.contains("cloexec") && boolean(f, "cloexec", where);
  if (f.contains("offset")) fd.offset = ranged(f, "offset", where, 0, INT64_MAX);
  if (fd.kind == "regular") {
    // A regular file comes back at its offset with its content: all three
    // must be there, or the job would run on a wrong offset.
    fd.path = path_field(f, "path", where);
    fd.offset = ranged(f, "offset", where, 0, INT64_MAX);
    fd.size = ranged(f, "size", where, 0, INT64_MAX);
    fd.copy = copy_field(f, "copy", where);
    fd.xxh3 = hash_field(f, "xxh3", where);
  } else if (fd.kind == "directory" || ((fd.kind == "tty" || fd.kind == "chardev") && !fd.path.empty())) {
    fd.path = path_field(f, "path", where);  // reopened by path
  }
  if (auto o = f.find("object"); o != f.end()) read_fd_object(*o, fd);
  return fd;
}

}  // namespace

Image read_manifest(ImageFiles& files) {
  const std::string text = files.read_all(fmt::kManifest);
  json j;
  Image img;
  const uint64_t version = read_header(text, j, img);
  img.dir = files.dir();
  img.core = files.dir() / fmt::kCore;
  img.seq = static_cast<int>(ranged(j, fmt::key::kSeq, "", 0, INT32_MAX));
  ranged(j, "signal", "", 1, 64);
  const json& prog = field(j, fmt::key::kProgram, "");
  img.program_path = path_field(prog, fmt::key::kProgramPath, "program.");
  img.exe_size = u64(prog, "exe_size", "program.");
  img.exe_xxh3 = hash_field(prog, "exe_xxh3", "program.");
  if (auto it = prog.find(fmt::key::kProgramArgv); it != prog.end() && it->is_array())
    for (auto& a : *it)
      if (a.is_string()) img.argv.push_back(a.get<std::string>());
  img.comm = str(j, "comm");
  img.cwd = path_field(j, "cwd", "");
  img.kernel_release = str(j, "kernel_release");
  const json& core = field(j, fmt::key::kCore, "");
  img.core_size = u64(core, fmt::key::kCoreSize, "core.");
  img.core_header_xxh3 = hash_field(core, "header_xxh3", "core.");

  const json& mm = field(j, "mm", "");
  img.mm = {u64(mm, "start_code", "mm."), u64(mm, "end_code", "mm."), u64(mm, "start_data", "mm."),
            u64(mm, "end_data", "mm."),   u64(mm, "start_brk", "mm."), u64(mm, "brk", "mm."),
            u64(mm, "start_stack", "mm."), u64(mm, "arg_start", "mm."), u64(mm, "arg_end", "mm."),
            u64(mm, "env_start", "mm."),  u64(mm, "env_end", "mm.")};
  for (const json& s : array(j, "sigactions"))
    img.sigactions.push_back({static_cast<int>(ranged(s, "signo", "sigactions[].", 1, 64)), u64(s, "handler", "sigactions[]."),
                              u64(s, "flags", "sigactions[]."), u64(s, "restorer", "sigactions[]."),
                              u64(s, "mask", "sigactions[].")});
  img.pid = pid_field(j, fmt::key::kPid, "");
  check_process_links(j, files.tree_member(), img);
  read_threads(j, version, img);
  for (const json& m : array(j, fmt::key::kMappings)) img.mappings.push_back(read_mapping(m, img));
  for (const json& f : array(j, "fds")) {
    img.fds.push_back(read_fd(f));
    const FdEntry& fd = img.fds.back();
    if (fd.kind == "regular") read_copy_delta(f, fd.copy, fd.size, "fds[" + std::to_string(fd.fd) + "].", img);
  }
  if (auto it = j.find("shared_files"); it != j.end() && it->is_array())
    for (const json& s : *it) {
      img.shared_files.push_back({path_field(s, "path", "shared_files[]."), copy_field(s, "copy", "shared_files[]."),
                                  hash_field(s, "xxh3", "shared_files[]."), u64(s, "size", "shared_files[].")});
      read_copy_delta(s, img.shared_files.back().copy, img.shared_files.back().size, "shared_files[].", img);
    }
  if (auto it = j.find("written_files"); it != j.end()) {
    if (!it->is_array()) bad("written_files is not an array");
    for (const json& w : *it) {
      img.written_files.push_back({path_field(w, "path", "written_files[]."), copy_field(w, "copy", "written_files[]."),
                                   hash_field(w, "xxh3", "written_files[]."), u64(w, "size", "written_files[].")});
      read_copy_delta(w, img.written_files.back().copy, img.written_files.back().size, "written_files[].", img);
    }
  }
  const json& exe = field(j, "exe_copy", "");
  img.exe_copy = str(exe, "file", "exe_copy.");
  if (img.exe_copy != fmt::kExeCopy) bad("exe_copy.file is \"" + img.exe_copy + "\", not \"" + fmt::kExeCopy + "\"");
  if (u64(exe, "size", "exe_copy.") != img.exe_size) bad("exe_copy.size differs from program.exe_size");
  if (str(exe, "xxh3", "exe_copy.") != img.exe_xxh3) bad("exe_copy.xxh3 differs from program.exe_xxh3");
  return img;
}

}  // namespace ckptsim::restart
