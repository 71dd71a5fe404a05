// manifest.json -> Image. Every field the restore needs must be present and of
// the right type: a missing one is an ImageError naming it.
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "file_hash.h"
#include "image_files.h"
#include "phases.h"

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
  if (j.contains("tid")) t.tid = static_cast<int>(u64(j, "tid", where));
  t.fs_base = u64(j, "fs_base", where);
  t.gs_base = u64(j, "gs_base", where);
  t.sigmask = u64(j, "sigmask", where);
  const json& alt = field(j, "sigaltstack", where);
  t.altstack_sp = u64(alt, "sp", where + "sigaltstack.");
  t.altstack_size = u64(alt, "size", where + "sigaltstack.");
  t.altstack_flags = static_cast<int>(u64(alt, "flags", where + "sigaltstack."));
  const json& rseq = field(j, "rseq", where);
  if (!rseq.is_null())
    t.rseq = Rseq{u64(rseq, "area", where + "rseq."), static_cast<uint32_t>(u64(rseq, "len", where + "rseq.")),
                  static_cast<uint32_t>(u64(rseq, "sig", where + "rseq."))};
  t.clear_child_tid = opt_u64(j, "clear_child_tid", where);
  if (j.contains("robust_list")) {
    const json& rl = field(j, "robust_list", where);
    t.robust_head = u64(rl, "head", where + "robust_list.");
    t.robust_len = u64(rl, "len", where + "robust_list.");
  }
  return t;
}

}  // namespace

// The library ends the manifest with "manifest_xxh3", the checksum of every
// byte before that key: an edit or a torn write shows. It is not a signature:
// whoever can write the image can compute it (README, "Security").
void check_own_checksum(const std::string& text) {
  static const std::string key = ",\"manifest_xxh3\":\"";
  const size_t at = text.rfind(key);
  if (at == std::string::npos) bad("no manifest_xxh3 (its own checksum)");
  const size_t hex_at = at + key.size();
  if (text.size() < hex_at + 16 || text.compare(hex_at + 16, std::string::npos, "\"}\n") != 0)
    bad("manifest_xxh3 is not its last field");
  if (xxh3_of_bytes(text.data(), at) != text.substr(hex_at, 16)) bad("checksum mismatch (the manifest was changed)");
}

Image read_manifest(ImageFiles& files) {
  const std::string text = files.read_all("manifest.json");
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    bad(std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad("not a JSON object");
  if (opt_str(j, "format") != "ckptsim-image") bad("not a ckptsim image (format is not \"ckptsim-image\")");
  const uint64_t version = u64(j, "format_version");
  if (version != 1 && version != 2)
    bad("image format version " + std::to_string(version) + " is not supported (this restarter reads versions 1 and 2)");

  Image img;
  if (version >= 2) check_own_checksum(text);
  img.dir = files.dir();
  img.core = files.dir() / "core";
  img.seq = static_cast<int>(u64(j, "seq"));
  const json& prog = field(j, "program", "");
  img.program_path = str(prog, "path", "program.");
  img.exe_size = u64(prog, "exe_size", "program.");
  img.exe_xxh3 = str(prog, "exe_xxh3", "program.");
  if (auto it = prog.find("argv"); it != prog.end() && it->is_array())
    for (auto& a : *it)
      if (a.is_string()) img.argv.push_back(a.get<std::string>());
  img.comm = str(j, "comm");
  img.cwd = str(j, "cwd");
  img.kernel_release = str(j, "kernel_release");
  const json& core = field(j, "core", "");
  img.core_size = u64(core, "size", "core.");
  img.core_header_xxh3 = str(core, "header_xxh3", "core.");

  const json& mm = field(j, "mm", "");
  img.mm = {u64(mm, "start_code", "mm."), u64(mm, "end_code", "mm."), u64(mm, "start_data", "mm."),
            u64(mm, "end_data", "mm."),   u64(mm, "start_brk", "mm."), u64(mm, "brk", "mm."),
            u64(mm, "start_stack", "mm."), u64(mm, "arg_start", "mm."), u64(mm, "arg_end", "mm."),
            u64(mm, "env_start", "mm."),  u64(mm, "env_end", "mm.")};
  for (const json& s : array(j, "sigactions"))
    img.sigactions.push_back({static_cast<int>(u64(s, "signo", "sigactions[].")), u64(s, "handler", "sigactions[]."),
                              u64(s, "flags", "sigactions[]."), u64(s, "restorer", "sigactions[]."),
                              u64(s, "mask", "sigactions[].")});
  img.pid = static_cast<int>(u64(j, "pid"));
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

  for (const json& m : array(j, "mappings")) {
    Mapping map;
    map.start = u64(m, "start", "mappings[].");
    map.end = u64(m, "end", "mappings[].");
    map.perms = str(m, "perms", "mappings[].");
    map.shared = boolean(m, "shared", "mappings[].");
    map.kind = str(m, "kind", "mappings[].");
    map.path = opt_str(m, "path");
    if (m.contains("file_offset")) map.file_offset = u64(m, "file_offset", "mappings[].");
    map.dumped = boolean(m, "dumped", "mappings[].");
    map.xxh3 = opt_str(m, "xxh3");
    if (map.perms.size() != 4) bad("mapping perms \"" + map.perms + "\" is not like \"rw-p\"");
    if (map.dumped && map.xxh3.empty()) bad("dumped mapping without xxh3");
    img.mappings.push_back(std::move(map));
  }
  for (const json& f : array(j, "fds")) {
    FdEntry fd;
    fd.fd = static_cast<int>(u64(f, "fd", "fds[]."));
    fd.kind = str(f, "kind", "fds[].");
    fd.path = opt_str(f, "path");
    fd.flags = static_cast<int>(u64(f, "flags", "fds[]."));
    fd.cloexec = f.contains("cloexec") && boolean(f, "cloexec", "fds[].");
    if (f.contains("offset")) fd.offset = u64(f, "offset", "fds[].");
    if (fd.kind == "regular") {
      fd.size = u64(f, "size", "fds[].");
      fd.copy = str(f, "copy", "fds[].");
      fd.xxh3 = str(f, "xxh3", "fds[].");
      if (fd.path.empty() || fd.path[0] != '/') bad("fd " + std::to_string(fd.fd) + " has no absolute path");
    }
    if (auto o = f.find("object"); o != f.end()) read_fd_object(*o, fd);
    img.fds.push_back(std::move(fd));
  }
  if (auto it = j.find("shared_files"); it != j.end() && it->is_array())
    for (const json& s : *it)
      img.shared_files.push_back({str(s, "path", "shared_files[]."), str(s, "copy", "shared_files[]."),
                                  str(s, "xxh3", "shared_files[]."), u64(s, "size", "shared_files[].")});
  const json& exe = field(j, "exe_copy", "");
  img.exe_copy = str(exe, "file", "exe_copy.");
  if (u64(exe, "size", "exe_copy.") != img.exe_size) bad("exe_copy.size differs from program.exe_size");
  if (str(exe, "xxh3", "exe_copy.") != img.exe_xxh3) bad("exe_copy.xxh3 differs from program.exe_xxh3");
  return img;
}

}  // namespace ckptsim::restart
