// The checkpoint image, named once: every file and directory of an image
// directory, the library's environment variables, the manifest's top-level
// keys and the format versions. The preload library (no C++ runtime, no
// allocation) and every reader use these; the manifest's nested field names
// live in its writer (ckpt/src/lib/manifest.cpp) and its strict reader
// (restart/src/read_manifest.cpp), and docs/image-format.md describes them.
// tests/check-sources.sh fails CI if one of these names is spelled elsewhere.
#pragma once
#include <cstddef>

namespace ckptsim::image_format {

// An image directory (CKPT_DIR) holds complete images ckpt-NNNN, at most one
// being written as .tmp-NNNN (renamed when complete: a crash leaves the last
// complete image as it was), the symlink `latest` to the newest, and the
// library's status line.
inline constexpr char kImagePrefix[] = "ckpt-";  // + decimal sequence number, 4 digits at least
inline constexpr char kPartialPrefix[] = ".tmp-";
inline constexpr char kLatest[] = "latest";
inline constexpr char kStatusFile[] = ".ckpt-status";
// Who is restoring the chain of this directory, or runs its restored job
// (restart/restore_lock.h). Not an image: every image reader passes it over.
inline constexpr char kRestoreLock[] = ".ckpt-restore-lock";
// The files the job's processes have opened for writing, by absolute path,
// NUL-ended (ckpt/src/lib/written_files.h). Not an image either.
inline constexpr char kWrittenJournal[] = ".ckpt-written";
inline constexpr char kDefaultDir[] = "ckpt-images";  // CKPT_DIR when unset, relative to the job's cwd

// Inside one image.
inline constexpr char kCore[] = "core";               // ELF core: memory and registers
inline constexpr char kManifest[] = "manifest.json";  // everything else, checksummed
inline constexpr char kExeCopy[] = "exe";             // the program's executable
inline constexpr char kFilesDir[] = "files";          // copies of open files (fd-N) and shared mappings (map-N)
inline constexpr char kFdCopyPrefix[] = "files/fd-";
inline constexpr char kMapCopyPrefix[] = "files/map-";
inline constexpr char kObjCopyPrefix[] = "files/obj-";  // a kernel object's data (a pipe's bytes, ...)
inline constexpr char kWrittenCopyPrefix[] = "files/wr-";  // a file the job wrote, open nowhere now or not
inline constexpr char kParentFile[] = "parent";
// Beside a file copy of an incremental run (files/NAME.blocks): the XXH3 of
// each 64 KiB block of the file's content, for the next image to find the
// blocks changed since without rereading the chain (ckpt/src/lib/file_delta.h).
inline constexpr char kBlockSumsSuffix[] = ".blocks";  // an incremental image's parent's name, for CKPT_KEEP

// A process tree's image (docs/image-format.md "Process trees"): instead of
// one process's files at the top, the tree's manifest and one ordinary image
// per live process of the job in proc-PID (PID as the job saw it).
inline constexpr char kTreeManifest[] = "tree.json";
inline constexpr char kProcDirPrefix[] = "proc-";  // + decimal pid
inline constexpr char kTreeFormatName[] = "ckptsim-tree";
inline constexpr int kTreeVersion = 1;

// Manifest top-level keys that more than one reader looks at.
namespace key {
inline constexpr char kFormat[] = "format";
inline constexpr char kFormatVersion[] = "format_version";
inline constexpr char kSeq[] = "seq";
inline constexpr char kPid[] = "pid";
inline constexpr char kProcess[] = "process";
inline constexpr char kProgram[] = "program";  // {"path", "argv", "exe_size", "exe_xxh3"}
inline constexpr char kProgramPath[] = "path";
inline constexpr char kProgramArgv[] = "argv";
inline constexpr char kCreatedNs[] = "created_unix_ns";
inline constexpr char kStoppedNs[] = "stopped_ns";
inline constexpr char kCore[] = "core";  // {"size", "header_xxh3"}
inline constexpr char kCoreSize[] = "size";
inline constexpr char kWritten[] = "written";  // {"incremental", "memory_bytes", "full_memory_bytes"}
inline constexpr char kWrittenIncremental[] = "incremental";
inline constexpr char kMemoryBytes[] = "memory_bytes";
inline constexpr char kFullMemoryBytes[] = "full_memory_bytes";
inline constexpr char kParent[] = "parent";  // {"image", "manifest_xxh3", "chain"}: version 3 only
inline constexpr char kParentImage[] = "image";
inline constexpr char kParentChain[] = "chain";
inline constexpr char kMappings[] = "mappings";
inline constexpr char kFlattenedFrom[] = "flattened_from";
// Last in the manifest: the XXH3 of every byte before ,"manifest_xxh3".
inline constexpr char kOwnChecksum[] = "manifest_xxh3";
}  // namespace key

inline constexpr char kFormatName[] = "ckptsim-image";
inline constexpr int kOldestVersion = 1;       // one thread, no own checksum
inline constexpr int kFullVersion = 2;         // a standalone image
inline constexpr int kIncrementalVersion = 3;  // pages changed since its parent
inline constexpr int kNewestVersion = kIncrementalVersion;
constexpr bool is_supported_version(long v) { return v >= kOldestVersion && v <= kNewestVersion; }

// The library's environment (docs/checkpointing.md).
namespace env {
inline constexpr char kDir[] = "CKPT_DIR";
inline constexpr char kSignal[] = "CKPT_SIGNAL";
inline constexpr char kKeep[] = "CKPT_KEEP";
inline constexpr char kFork[] = "CKPT_FORK";
inline constexpr char kFsync[] = "CKPT_FSYNC";
inline constexpr char kIncremental[] = "CKPT_INCREMENTAL";
inline constexpr char kMaxChain[] = "CKPT_MAX_CHAIN";
inline constexpr char kDirty[] = "CKPT_DIRTY";  // auto | kernel | checksum
// Set by the library's exec guard, taken out by the new image's library: the
// checkpoint signal the guard blocked for the exec (the new image unblocks it).
inline constexpr char kExecBlocked[] = "CKPT_EXEC_BLOCKED";
}  // namespace env

// ckpt-NNNN -> NNNN; 0 for any other name (and for more than 18 digits, which
// no dump writes). No allocation: the preload library uses it too.
constexpr unsigned long image_number(const char* name, std::size_t len) {
  constexpr std::size_t prefix = sizeof kImagePrefix - 1;
  if (len <= prefix || len > prefix + 18) return 0;
  for (std::size_t i = 0; i < prefix; ++i)
    if (name[i] != kImagePrefix[i]) return 0;
  unsigned long n = 0;
  for (std::size_t i = prefix; i < len; ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    n = n * 10 + static_cast<unsigned long>(name[i] - '0');
  }
  return n;
}

}  // namespace ckptsim::image_format
