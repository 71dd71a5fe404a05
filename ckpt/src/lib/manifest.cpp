// manifest.json (docs/image-format.md; names from ckpt/image_format.h), written by hand into a
// scratch buffer: no allocation, no stdio.
#include <fcntl.h>
#include <sys/utsname.h>

#include "dump.h"
#include "hash.h"
#include "sys.h"

// glibc's rseq registration (exported since 2.35).
extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

namespace ckptlib {

namespace {

constexpr uint32_t kRseqSig = 0x53053053;

const char* mm_names[11] = {"start_code", "end_code",    "start_data", "end_data",
                            "start_brk",  "brk",         "start_stack", "arg_start",
                            "arg_end",    "env_start",   "env_end"};

void write_argv(Text& t, const char* cmdline, size_t len) {
  t.ch('[');
  size_t start = 0;
  bool first = true;
  for (size_t i = 0; i < len; ++i) {
    if (cmdline[i]) continue;
    if (!first) t.ch(',');
    t.json_str(cmdline + start, i - start);
    first = false;
    start = i + 1;
  }
  if (start < len) {  // a last argument without its NUL (argv rewritten by the job)
    if (!first) t.ch(',');
    t.json_str(cmdline + start, len - start);
  }
  t.ch(']');
}

void write_sigactions(Text& t) {
  t.key("sigactions").ch('[');
  bool first = true;
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == 9 || sig == 19) continue;  // SIGKILL, SIGSTOP
    sys::KernelSigaction old{};
    if (sys::rt_sigaction(sig, nullptr, &old) < 0 || old.handler == 0) continue;
    if (!first) t.ch(',');
    first = false;
    t.str("{\"signo\":").dec(unsigned(sig)).str(",\"handler\":").dec(old.handler);
    t.str(",\"flags\":").dec(old.flags).str(",\"restorer\":").dec(old.restorer);
    t.str(",\"mask\":").dec(old.mask).ch('}');
  }
  t.ch(']');
}

void write_rseq(Text& t, const ThreadState& th) {
  if (&__rseq_size && &__rseq_offset && __rseq_size > 0) {
    // __rseq_size is the size of the features in use (20 in glibc 2.36); the
    // kernel wants the registered length, at least the original 32 bytes.
    const unsigned len = __rseq_size < 32 ? 32 : __rseq_size;
    t.str("{\"area\":").dec(th.fs_base + uint64_t(__rseq_offset)).str(",\"len\":").dec(len);
    t.str(",\"sig\":").dec(kRseqSig).ch('}');
  } else {
    t.str("null");
  }
}

// Per thread, in the order of the core's NT_PRSTATUS notes (main thread
// first): what the kernel keeps for each thread besides its registers.
void write_threads(Text& t, const Dump& d) {
  t.key("threads").ch('[');
  for (size_t i = 0; i < d.roster.count; ++i) {
    const ThreadState& th = d.roster.threads[i];
    if (i) t.str(",\n");
    t.str("{\"tid\":").dec(unsigned(th.tid));
    t.str(",\"fs_base\":").dec(th.fs_base).str(",\"gs_base\":").dec(th.gs_base);
    t.str(",\"xstate_size\":").dec(th.xstate_size);
    t.str(",\"sigmask\":").dec(th.uc->uc_sigmask.__val[0]);
    const stack_t& ss = th.uc->uc_stack;  // the alternate stack as it was when the signal came
    t.str(",\"sigaltstack\":{\"sp\":").dec(uint64_t(ss.ss_sp)).str(",\"size\":").dec(ss.ss_size);
    t.str(",\"flags\":").dec(unsigned(ss.ss_flags) & ~unsigned(SS_ONSTACK)).ch('}');
    t.str(",\"rseq\":");
    write_rseq(t, th);
    t.str(",\"clear_child_tid\":").dec(th.clear_child_tid);
    t.str(",\"robust_list\":{\"head\":").dec(th.robust_head).str(",\"len\":").dec(th.robust_len).str("}}");
  }
  t.ch(']');
}

void write_mappings(Text& t, const Dump& d) {
  t.key("mappings").ch('[');
  for (size_t i = 0; i < d.nmaps; ++i) {
    const Mapping& m = d.maps[i];
    if (i) t.ch(',');
    t.str("{\"start\":").dec(m.start).str(",\"end\":").dec(m.end);
    t.str(",\"perms\":").json_str(m.perms).str(",\"shared\":").json_bool(m.shared);
    t.str(",\"kind\":").json_str(map_kind_name(m.kind));
    t.str(",\"path\":").json_str(m.path, m.path_len);
    t.str(",\"file_offset\":").dec(m.file_offset);
    t.str(",\"phdr\":").dec(m.phdr).str(",\"dumped\":").json_bool(m.dumped);
    if (m.dontfork) t.str(",\"dontfork\":true");
    t.str(",\"xxh3\":").json_hash(m.xxh3);
    if (m.delta) {  // an incremental image: the pages this core holds, [first, count] from the start
      t.str(",\"delta\":[");
      for (uint32_t r = 0; r < m.nruns; ++r) {
        const PageRun& run = d.runs[m.runs_first + r];
        if (r) t.ch(',');
        t.ch('[').dec(run.first).ch(',').dec(run.count).ch(']');
      }
      t.str("],\"delta_xxh3\":").json_hash(m.delta_xxh3);
    }
    t.ch('}');
  }
  t.ch(']');
}

// ,"delta":{...}: a copy that holds only the ranges changed since the
// parent image's copy (file_delta.h). Last of the entry's own keys: the next
// dump finds "size" and "xxh3" before it (copy_reuse.cpp).
void write_delta(Text& t, const CopyDelta* cd) {
  if (!cd) return;
  t.str(",\"delta\":{\"parent_copy\":").json_str(cd->parent_copy).str(",\"parent_size\":").dec(cd->parent_size);
  t.str(",\"parent_xxh3\":").json_hash(cd->parent_xxh3).str(",\"bytes\":").dec(cd->bytes);
  t.str(",\"bytes_xxh3\":").json_hash(cd->xxh3).str(",\"ranges\":[");
  for (uint32_t i = 0; i < cd->nranges; ++i) {
    if (i) t.ch(',');
    t.ch('[').dec(cd->ranges[2 * i]).ch(',').dec(cd->ranges[2 * i + 1]).ch(']');
  }
  t.str("]}");
}

void write_fds(Text& t, const Dump& d) {
  t.key("fds").ch('[');
  for (size_t i = 0; i < d.nfds; ++i) {
    const FdEntry& e = d.fds[i];
    if (i) t.ch(',');
    t.str("{\"fd\":").dec(unsigned(e.fd)).str(",\"kind\":").json_str(fd_kind_name(e.kind));
    t.str(",\"path\":").json_str(e.path, e.path_len);
    t.str(",\"flags\":").dec(unsigned(e.flags)).str(",\"cloexec\":").json_bool(e.cloexec);
    t.str(",\"offset\":").dec(e.offset < 0 ? 0 : uint64_t(e.offset));
    if (e.kind == FdKind::regular) {
      t.str(",\"size\":").dec(e.copy_size).str(",\"copy\":\"").str(fmt::kFdCopyPrefix).dec(unsigned(e.fd));
      t.str("\",\"xxh3\":").json_hash(e.xxh3);
      write_delta(t, e.delta);
    }
    write_fd_object(t, e);
    t.ch('}');
  }
  t.ch(']');
}

void write_shared(Text& t, const Dump& d) {
  t.key("shared_files").ch('[');
  for (size_t i = 0; i < d.nshared; ++i) {
    const SharedFile& s = d.shared[i];
    if (i) t.ch(',');
    t.str("{\"path\":").json_str(s.path, s.path_len);
    t.str(",\"copy\":\"").str(fmt::kMapCopyPrefix).dec(s.copy_index).ch('"');
    t.str(",\"size\":").dec(s.size).str(",\"xxh3\":").json_hash(s.xxh3);
    write_delta(t, s.delta);
    t.ch('}');
  }
  t.ch(']');
}

// Files the job wrote that no fd or mapping holds (written_files.h).
void write_written(Text& t, const Dump& d) {
  t.ch(',').key("written_files").ch('[');
  for (size_t i = 0; i < d.nwritten; ++i) {
    const WrittenFile& w = d.written[i];
    if (i) t.ch(',');
    t.str("{\"path\":").json_str(w.path, w.path_len);
    t.str(",\"copy\":\"").str(fmt::kWrittenCopyPrefix).dec(uint64_t(i)).ch('"');
    t.str(",\"size\":").dec(w.size).str(",\"xxh3\":").json_hash(w.xxh3);
    write_delta(t, w.delta);
    t.ch('}');
  }
  t.ch(']');
}

}  // namespace

const char* map_kind_name(MapKind k) {
  switch (k) {
    case MapKind::anon: return "anon";
    case MapKind::file: return "file";
    case MapKind::heap: return "heap";
    case MapKind::stack: return "stack";
    case MapKind::vdso: return "vdso";
    case MapKind::vvar: return "vvar";
    case MapKind::vvar_vclock: return "vvar_vclock";
    case MapKind::vsyscall: return "vsyscall";
    default: return "other";
  }
}

const char* fd_kind_name(FdKind k) {
  switch (k) {
    case FdKind::regular: return "regular";
    case FdKind::directory: return "directory";
    case FdKind::devnull: return "devnull";
    case FdKind::tty: return "tty";
    case FdKind::chardev: return "chardev";
    case FdKind::pipe: return "pipe";
    case FdKind::socket: return "socket";
    default: return "other";
  }
}

bool write_manifest(Dump& d) {
  Text t;
  t.reset(d.manifest, kManifestSize);
  struct utsname un {};
  sys::uname(&un);

  // Version 3: an incremental image (a parent, per-mapping deltas), which a
  // version-2 restarter must refuse rather than restore with holes.
  t.ch('{').key(fmt::key::kFormat).json_str(fmt::kFormatName).ch(',').key(fmt::key::kFormatVersion);
  t.dec(unsigned(d.incremental ? fmt::kIncrementalVersion : fmt::kFullVersion));
  t.ch(',').key(fmt::key::kSeq).dec(d.seq);
  t.ch(',').key(fmt::key::kCreatedNs).dec(d.created_ns).ch(',').key(fmt::key::kStoppedNs).dec(d.stopped_ns);
  t.ch(',').key(fmt::key::kPid).dec(uint64_t(d.pid));
  // One process, no children: a job with descendants is a tree image, each
  // process in an image of its own and the links in tree.json (tree_dump.cpp).
  // A restarter refuses an image whose children it would not restore.
  t.ch(',').key(fmt::key::kProcess).str("{\"ppid\":").dec(uint64_t(d.ppid)).str(",\"pgid\":").dec(uint64_t(d.pgid));
  t.str(",\"sid\":").dec(uint64_t(d.sid)).str(",\"children\":[]");
  t.str(",\"child_subreaper\":").json_bool(d.child_subreaper).ch('}');
  t.str(",\"signal\":").dec(unsigned(d.sig));
  t.str(",\n").key(fmt::key::kProgram).ch('{').key(fmt::key::kProgramPath).json_str(d.exe_path);
  t.ch(',').key(fmt::key::kProgramArgv);
  write_argv(t, d.cmdline, d.cmdline_len);
  t.str(",\"exe_size\":").dec(d.exe_size).str(",\"exe_xxh3\":").json_hash(d.exe_xxh3).ch('}');
  t.str(",\n\"comm\":").json_str(d.comm).str(",\"cwd\":").json_str(d.cwd);
  t.str(",\"kernel_release\":").json_str(un.release);
  t.str(",\"glibc_version\":").json_str(d.cfg->glibc_version);
  t.str(",\"page_size\":").dec(d.cfg->page_size);
  t.str(",\n").key(fmt::key::kCore).ch('{').key(fmt::key::kCoreSize).dec(d.core_size).str(",\"header_xxh3\":").json_hash(d.core_header_xxh3).ch('}');
  // What this dump wrote of the memory, and what a full one writes (the
  // incremental dump costs `ckptsim calibrate` measures).
  t.str(",\n").key(fmt::key::kWritten).ch('{').key(fmt::key::kWrittenIncremental).json_bool(d.incremental);
  t.ch(',').key(fmt::key::kMemoryBytes).dec(d.memory_bytes);
  t.ch(',').key(fmt::key::kFullMemoryBytes).dec(d.full_memory_bytes).ch('}');
  if (d.incremental) {
    t.str(",\n").key(fmt::key::kParent).ch('{').key(fmt::key::kParentImage).json_str(d.parent_name);
    t.ch(',').key(fmt::key::kOwnChecksum).json_hash(d.parent_manifest_xxh3);
    t.ch(',').key(fmt::key::kParentChain).dec(d.chain).ch('}');
  }
  t.str(",\n\"mm\":{");
  for (int i = 0; i < 11; ++i) {
    if (i) t.ch(',');
    t.key(mm_names[i]).dec(d.mm[i]);
  }
  t.str("},\n");
  write_sigactions(t);
  t.str(",\n");
  write_threads(t, d);
  t.str(",\n");
  write_mappings(t, d);
  t.str(",\n");
  write_fds(t, d);
  t.str(",\n");
  write_shared(t, d);
  write_written(t, d);
  t.str(",\n\"exe_copy\":{\"file\":").json_str(fmt::kExeCopy).str(",\"size\":").dec(d.exe_size);
  t.str(",\"xxh3\":").json_hash(d.exe_xxh3).ch('}');
  // Last, the checksum of every byte before this key (restart checks it).
  if (!t.overflow) {
    const uint64_t own = hash_ops().once(t.data, t.len);
    t.ch(',').key(fmt::key::kOwnChecksum).json_hash(own).str("}\n");
  }
  if (t.overflow) return d.fail("writing manifest.json", -E2BIG);

  long fd = sys::openat(d.tmpfd, fmt::kManifest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return d.fail("creating manifest.json", fd);
  bool ok = true;
  long r = sys::fchmod(int(fd), 0600);
  if (r < 0) ok = d.fail("creating manifest.json", r);
  if (ok && (r = write_all(int(fd), t.data, t.len)) < 0) ok = d.fail("writing manifest.json", r);
  if (ok && d.cfg->fsync && (r = sys::fsync(int(fd))) < 0) ok = d.fail("syncing manifest.json", r);
  r = sys::close(int(fd));
  if (ok && r < 0 && r != -EINTR) ok = d.fail("closing manifest.json", r);
  return ok;
}

}  // namespace ckptlib
