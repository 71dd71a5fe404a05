// An image as the restarter sees it after verification: the manifest's facts,
// the core's registers/xstate/auxv, and where each segment lies in `core`.
// Everything here has been checked against the image's checksums.
#pragma once
#include <sys/user.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "image_owner.h"

#include "kernel_object.h"

namespace ckptsim::restart {

// Where a run of a mapping's bytes lies: `link` 0 is the image itself, link i
// its i-th ancestor (Image::ancestors[i - 1]) in an incremental chain.
struct Piece {
  uint64_t offset = 0, len = 0;  // within the mapping
  size_t link = 0;
  uint64_t core_offset = 0;      // in that link's core
};

struct Mapping {
  uint64_t start = 0, end = 0;
  std::string perms;  // "r-xp" as in /proc/PID/maps
  bool shared = false;
  std::string kind;   // anon, file, heap, stack, vdso, vvar, vvar_vclock, vsyscall, other
  std::string path;   // file kind: the mapped file
  uint64_t file_offset = 0;
  bool dumped = false;
  bool dontfork = false;  // the job had marked it MADV_DONTFORK: marked again
  std::string xxh3;
  uint64_t core_offset = 0;  // page-aligned p_offset of its PT_LOAD
  // Incremental images: the pages this core holds ([first, count] from the
  // start) and their checksum; the other pages are the parent's.
  bool delta = false;
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  std::string delta_xxh3;
  std::vector<Piece> pieces;  // dumped: where its bytes are, in order (chain.cpp)
  uint64_t size() const { return end - start; }
  int prot() const;          // PROT_* from perms
  bool is_kernel_special() const { return kind == "vdso" || kind == "vvar" || kind == "vvar_vclock"; }
};

// A range as /proc/PID/maps writes it ("7f12...-7f13...").
std::string hex_range(uint64_t start, uint64_t end);
// A mapping as messages name it: its range, and its file or kind.
std::string describe(const Mapping& m);

struct FdEntry {
  int fd = -1;
  std::string kind;  // regular, directory, devnull, tty, chardev, pipe, socket, other
  std::string path;
  int flags = 0;     // open(2) flags as in /proc/PID/fdinfo
  bool cloexec = false;
  uint64_t offset = 0, size = 0;
  std::string copy, xxh3;  // regular only: files/fd-N and its checksum
  std::optional<KernelObject> object;  // fds[].object, absent in older images
};

struct SharedFile {
  std::string path, copy, xxh3;
  uint64_t size = 0;
};

struct SigAction {
  int signo = 0;
  uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;
};

struct MmFields {
  uint64_t start_code = 0, end_code = 0, start_data = 0, end_data = 0, start_brk = 0, brk = 0,
           start_stack = 0, arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
};

struct Rseq {
  uint64_t area = 0;
  uint32_t len = 0, sig = 0;
};

// One thread: what the manifest says of it, and its registers and FPU state
// from its NT_PRSTATUS / NT_X86_XSTATE group in the core.
struct ThreadImage {
  int tid = 0;  // at checkpoint time; the restored thread gets a new one
  uint64_t fs_base = 0, gs_base = 0, sigmask = 0;
  uint64_t altstack_sp = 0, altstack_size = 0;
  int altstack_flags = 0;
  std::optional<Rseq> rseq;
  uint64_t clear_child_tid = 0;  // glibc's &pthread->tid: the kernel clears it at exit, join waits on it
  uint64_t robust_head = 0, robust_len = 0;
  user_regs_struct regs{};
  std::vector<uint8_t> xstate;  // NT_X86_XSTATE (or the fxsave area if absent)
};

// A file copy that holds only the ranges changed since the parent image's
// copy of the same file; the rest is that copy's (file_chain.cpp).
struct CopyDelta {
  std::string parent_copy;  // files/NAME in the parent image
  uint64_t parent_size = 0;
  std::string parent_xxh3;
  uint64_t bytes = 0;       // this copy's size: the ranges' bytes, in order
  std::string bytes_xxh3;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // (offset, length), ascending
};

class ImageFiles;

struct ParentRef {
  std::string image;          // ckpt-NNNN beside this image
  std::string manifest_xxh3;  // of its manifest.json, every byte
  int chain = 0;              // incremental links down to the full image
};

struct Image {
  std::filesystem::path dir;   // the image directory (for messages)
  std::filesystem::path core;  // dir/core (for messages)
  std::shared_ptr<ImageFiles> files;  // every file of the image, opened once (image_files.h)
  ImageOwner owner;                   // whose restore this is (image_owner.h)
  int seq = 0;
  pid_t pid = 0;               // the checkpointed process's; restored under it when free
  std::string program_path;    // executable at checkpoint time
  std::vector<std::string> argv;
  uint64_t exe_size = 0;
  std::string exe_xxh3;
  std::string exe_copy;        // relative to dir
  bool exec_copy = false;      // the original is gone: exec the image's copy
  std::string comm, cwd, kernel_release;
  uint64_t core_size = 0;
  std::string core_header_xxh3;  // over the core's bytes before the first segment
  MmFields mm;
  std::vector<SigAction> sigactions;
  std::vector<ThreadImage> threads;  // [0] is the main thread (tid == pid)
  std::vector<Mapping> mappings;
  std::vector<FdEntry> fds;
  std::vector<SharedFile> shared_files;
  // Files the job wrote that no fd or mapping held at the checkpoint (`>> out`
  // from a process that has ended): put back like the others.
  std::vector<SharedFile> written_files;
  std::map<std::string, CopyDelta> copy_deltas;  // by copy (files/NAME): those stored as changes
  std::vector<pid_t> children;  // a tree's process only: its children as its manifest records them
  bool child_subreaper = false;  // PR_SET_CHILD_SUBREAPER (the job's first process): set again before its exec

  std::vector<uint8_t> auxv;    // NT_AUXV, from the core

  std::string manifest_text_xxh3;   // of manifest.json as read (what a child image names)
  std::optional<ParentRef> parent;  // an incremental image's
  std::vector<Image> ancestors;     // its parent, the parent's parent... (chain.cpp)
  std::string name() const { return dir.filename().string(); }
  // Link 0 is this image, link l its ancestor l - 1; and that link's core.
  const Image& link(size_t l) const { return l == 0 ? *this : ancestors.at(l - 1); }
  int core_fd(size_t l) const;
};

}  // namespace ckptsim::restart
