// One checkpoint, as run from the signal handler: the state gathered about the
// process and the phases that write DIR/ckpt-NNNN. Everything here lives in a
// scratch mapping created for this dump (and left out of the image), or on the
// alternate signal stack; see docs/internals.md "Signal-path rules".
#pragma once
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "ckpt/image_format.h"
#include "dirty_tracking.h"
#include "text.h"
#include "threads.h"

namespace ckptlib {

namespace fmt = ckptsim::image_format;

constexpr size_t kPathMax = 4096;

// Library settings, fixed at start-up (they live in the library's data, so a
// restored process keeps them). Plain data on purpose: no dynamic initializer
// may run after the library's constructor has filled it in.
struct Config {
  char dir[kPathMax];  // absolute CKPT_DIR
  int signal;
  bool fsync;  // CKPT_FSYNC=0 turns durability off (benchmarks only)
  uint32_t keep;  // CKPT_KEEP=N: complete images kept (the newest N); 0 keeps all
  bool fork;      // CKPT_FORK=1: the memory is written by a forked copy (dump.cpp)
  bool incremental;    // CKPT_INCREMENTAL=1: only pages changed since the parent image (incremental.cpp)
  uint32_t max_chain;  // CKPT_MAX_CHAIN=N: incremental images on one full one, then a full dump (default 8)
  DirtyMode dirty;     // CKPT_DIRTY: changed pages from the kernel or by checksums (dirty_tracking.h)
  const char* glibc_version;
  uint64_t page_size;
};

enum class MapKind { anon, file, heap, stack, vdso, vvar, vvar_vclock, vsyscall, other };
const char* map_kind_name(MapKind k);

struct Mapping {
  uint64_t start, end, file_offset, inode;
  uint32_t dev_major, dev_minor;
  char perms[5];
  const char* path;  // maps' pathname column ("" for anonymous), NUL-terminated
  uint32_t path_len;
  MapKind kind;
  bool shared, dumped;
  uint32_t phdr;
  uint64_t core_offset;  // p_offset
  uint64_t xxh3;         // over the dumped bytes (an incremental image's too: the whole content)
  // Incremental images: the pages this core holds (runs of Dump::runs) and
  // their checksum; the others are the parent's.
  bool delta;
  uint32_t runs_first, nruns;
  uint64_t delta_xxh3;
  bool dirty_known;  // the kernel listed its pages written since the parent (dirty_tracking.cpp)
  bool dontfork;     // MADV_DONTFORK: found missing in a forked writer, forked anyway (fork_snapshot.cpp)
};

// Per-page checksums of the anonymous memory an image holds (its `pages`
// file, read back by the next incremental dump; incremental.cpp).
struct PageRange {
  uint64_t start, end, first;  // [start, end) and the index of its first page's checksum
};
// One run of pages PAGEMAP_SCAN reports written (the kernel's struct page_region).
struct DirtyRegion {
  uint64_t start, end, categories;
};
struct PageRun {
  uint32_t first, count;  // pages of a mapping, from its start
};

enum class FdKind { regular, directory, devnull, tty, chardev, pipe, socket, other };
const char* fd_kind_name(FdKind k);

// A kernel object behind an fd (pipe, eventfd, epoll, timerfd, signalfd, unix
// socket, memfd, unlinked file): what restart needs to recreate it. Filled by
// save_kernel_objects (kernel_objects.cpp); see docs/image-format.md "fds[].object".
enum class ObjKind : uint8_t { none, pipe, eventfd, epoll, timerfd, signalfd, unix_socket, memfd, unlinked };

struct EpollItem {
  int tfd;
  uint32_t events;
  uint64_t data;
};

struct KernelObject {
  ObjKind kind;
  int dup_of;           // earlier fd sharing this open file description (kcmp), or -1
  uint64_t id, peer;    // inode of the pipe/socket/file; a socket's peer inode
  uint64_t a, b, c, d;  // eventfd: count, semaphore; signalfd: mask; pipe: size;
                        // timerfd: value_ns, interval_ns, ticks, clockid | settime flags << 32;
                        // socket: type; memfd: seals
  const EpollItem* items;
  uint32_t nitems;
  bool has_data;        // files/obj-FD holds the bytes queued in it
  uint64_t data_size, data_xxh3;
  const char* unrestorable;  // why restart cannot recreate it, or nullptr
};

// A file copy stored as the ranges changed since the parent image's copy of
// the same file (file_delta.h): the copy holds those ranges' bytes, in order.
struct CopyDelta {
  char parent_copy[64];              // "files/NAME" in the parent image
  uint64_t parent_size, parent_xxh3;  // that copy's content (it may be a delta itself)
  uint64_t bytes, xxh3;              // this copy's own bytes: the ranges' content
  const uint64_t* ranges;            // nranges (offset, length) pairs, ascending, in the pool
  uint32_t nranges;
};

struct FdEntry {
  int fd;
  FdKind kind;
  const char* path;
  uint32_t path_len;
  int flags;
  bool cloexec;
  int64_t offset;  // -1: not seekable
  uint64_t size, dev, ino;
  uint64_t copy_size, xxh3;
  const CopyDelta* delta;  // nullptr: files/fd-N is the whole content
  KernelObject obj;
};

struct SharedFile {
  const char* path;
  uint32_t path_len;
  uint64_t dev, ino;
  uint64_t size, xxh3;
  const CopyDelta* delta;
  uint32_t copy_index;  // files/map-K
};

// A file named by the journal of written files (written_files.h), copied as files/wr-K.
struct WrittenFile {
  const char* path;
  uint32_t path_len;
  uint64_t size, xxh3;
  const CopyDelta* delta;
};

// Sizes of the per-dump scratch mapping's regions (MAP_NORESERVE: only the
// pages actually touched cost memory).
constexpr size_t kIoBufSize = 4u << 20;
constexpr size_t kWriterStackSize = 64u << 10;
constexpr size_t kMaxMappings = 65000;  // must fit e_phnum (< PN_XNUM) with the note
constexpr size_t kMaxFds = 8192;
constexpr size_t kMaxShared = 1024;
constexpr size_t kMaxWritten = 8192;  // distinct files in the journal of written files
constexpr size_t kMapsTextSize = 8u << 20;
constexpr size_t kPoolSize = 16u << 20;
constexpr size_t kHeaderSize = 16u << 20;
constexpr size_t kManifestSize = 32u << 20;
constexpr size_t kSmallTextSize = 4u << 20;  // cmdline, auxv, stat
constexpr size_t kBounceSize = 1u << 20;  // writable private file mappings, read safely (core_writer.cpp)
constexpr size_t kMaxTrackedPages = 8u << 20;  // 32 GiB of anonymous memory (64 MiB of checksums)
constexpr size_t kMaxRuns = 4u << 20;
constexpr size_t kMaxDirtyRegions = 1u << 20;  // more: that mapping is checksummed
constexpr size_t kPagesFileMax = 64 + kMaxMappings * sizeof(PageRange) + kMaxTrackedPages * 8;

struct Dump {
  const Config* cfg;
  int sig;
  ucontext_t* uc;  // the leader's (the thread that took the signal)
  Roster roster;   // every thread, main first (threads.h)

  // Scratch regions.
  void* scratch;
  size_t scratch_size;
  char* io_buf;
  bool io_buf_faulted;  // fault_in_io_buf has run
  const char* zero_page;
  void* xxh_state;  // XXH3_state_t, 64-byte aligned
  char* writer_stack;  // the core writer task's (write_pipeline.h)
  size_t writer_stack_size;
  char* maps_text;
  size_t maps_len;
  char* pool;
  size_t pool_used;
  char* header;
  char* manifest;
  char* cmdline;
  size_t cmdline_len;
  char* auxv;
  size_t auxv_len;
  char* stat_text;
  size_t stat_len;

  Mapping* maps;
  size_t nmaps;
  FdEntry* fds;
  size_t nfds;
  SharedFile* shared;
  size_t nshared;
  WrittenFile* written;  // in the pool (written_files.cpp)
  size_t nwritten;

  // Process facts.
  long pid, ppid;  // the job's (a forked writer has its own)
  long pgid, sid;
  bool child_subreaper;  // PR_SET_CHILD_SUBREAPER: orphaned descendants come to it (the job's first process)
  long writer_pid;  // a previous forked dump's writer still running: our child, not the job's
  char comm[32];
  const char* exe_path;
  const char* cwd;
  uint64_t mm[11];  // start_code end_code start_data end_data start_brk brk start_stack arg_start arg_end env_start env_end
  uint64_t num_threads;
  uint64_t created_ns;
  // What this dump cost the job: CLOCK_MONOTONIC at the handler's start, and how
  // long the job stayed stopped (until the fork of a forked dump, else until its
  // image was written). `run --interval auto` chooses the next interval from it.
  uint64_t started_mono_ns;
  uint64_t stopped_ns;
  bool in_writer;  // this is the forked writer: the job has run on since stopped_ns
  bool stay_stopped;  // the job was stopped when asked: end_dump stops it again
  siginfo_t* next_request;  // with stay_stopped: a request sent while it was stopped again (si_signo 0: none)

  // Image being written.
  uint64_t seq;
  char image_name[32];  // ckpt-NNNN
  char tmp_name[64];    // .tmp-ckpt-NNNN-PID
  int dirfd = -1, tmpfd = -1, filesfd = -1;
  uint64_t core_size, core_header_xxh3;
  uint64_t live_lo, live_hi;  // memory the handler's own frames use (hashed from the file)
  uint64_t exe_size, exe_xxh3;

  // Incremental dumps (incremental.cpp). `chain` counts the incremental
  // images from the last full one (0: this one is full).
  bool incremental;
  uint32_t chain;
  char parent_name[32];
  uint64_t parent_manifest_xxh3;
  size_t parent_manifest_len;      // its text is in `manifest` until write_manifest (copy_reuse.cpp)
  int parent_dirfd = -1;           // the parent image, while copy_files runs
  uint64_t* block_scratch;         // file_delta.cpp: block checksums and ranges, taken once
  const PageRange* parent_ranges;  // the parent's `pages` file, checked
  const uint64_t* parent_hashes;
  size_t parent_nranges, parent_cursor;
  char* parent_pages;              // its bytes
  PageRange* ranges;               // this image's
  size_t nranges;
  uint64_t* page_hashes;
  size_t npages;
  bool pages_ok;                   // all of this image's anonymous memory is in `pages`
  PageRun* runs;
  size_t nruns;
  void* delta_state;               // HashState for Mapping::delta_xxh3
  char* bounce;                    // kBounceSize: file-mapped pages, read safely
  bool can_read_self;              // process_vm_readv works on ourselves
  uint64_t zero_page_xxh3;         // a never-touched page's checksum (the `pages` file)
  uint64_t memory_bytes, full_memory_bytes;  // written / what a full dump writes
  DirtyRegion* dirty;              // written since the parent, by the kernel, in address order
  size_t ndirty, dirty_cursor;
  bool dirty_kernel;               // some mapping's changes came from the kernel, not checksums

  // First failure: what failed and the errno (0: `what` says it all).
  const char* fail_what;
  int fail_err;
  bool refused;  // not a failure: this process cannot be checkpointed as it is (process_tree.cpp)
  bool outsiders_after_fork;  // a forked dump of a childless process: refuse_outsiders_now after the fork (tree.h)

  // A process tree's dump (tree.h): the top temp directory holds tree.json and
  // proc-PID/, this process's image being its proc-PID; the pipes whose ends are
  // all in the tree (recorded even at fd 0..2, their bytes saved by each reader).
  bool in_tree;
  bool tree_member;  // a member's dump: the coordinator copies the job's written files
  uint32_t tree_live, tree_zombies;  // a tree's processes, for the status line (the coordinator's)
  int treefd = -1;
  const uint64_t* tree_pipes;
  size_t ntree_pipes;
  int skip_fd = -1;  // a tree member's connection to its coordinator: not one of the job's fds
  char tree_parent[32];       // the tree image every process's core descends from ("": a full one)

  bool fail(const char* what, long neg_errno) {
    if (!fail_what) {
      fail_what = what;
      fail_err = int(neg_errno < 0 ? -neg_errno : neg_errno);
    }
    return false;
  }
  // Copies n bytes into the string pool, NUL-terminated; nullptr if full.
  const char* keep(const char* s, size_t n);
  // n bytes of the pool, 8-byte aligned; nullptr if full.
  void* alloc(size_t n);
};

// Phases, in the order run_checkpoint calls them. Each returns false after
// recording the failure in the Dump.
bool map_scratch(Dump& d);
void unmap_scratch(Dump& d);
// Before the core is written: the io buffers' pages in with one call.
void fault_in_io_buf(Dump& d);
bool read_process(Dump& d);    // proc_read.cpp: maps, stat, auxv, cmdline, comm, exe, cwd, regs
bool read_fd_table(Dump& d);   // fd_table.cpp
// A tree's process reads its fd table before the whole job is stopped (the
// coordinator before it stops the members, a member before it says
// "stopped"). Its own fds cannot change then, its threads parked, but what it
// shares with processes still running can: an open file's offset and status
// flags (one open file through fork), the file's size. Read again once every
// process is stopped (fd_table.cpp).
bool refresh_shared_fd_state(Dump& d);
bool stop_threads(Dump& d);     // dump.cpp: threads.h's stop_others
// dump.cpp, forked dumps: a copy of this process with no exit signal (the job
// sees no SIGCHLD); 0 in the copy, its pid here, or -errno. The previous
// writer is reaped once a new one exists (reap_previous_writer: before, and
// `wait` for it to end).
long clone_writer(Dump& d);
void reap_previous_writer(bool wait);
// The previous forked dump's writer ended (up to 2 s, polled), else a failure.
bool wait_previous_writer(Dump& d);
bool note_job_resumes(Dump& d);
void release_dir_lock(Dump& d);  // dump.cpp: a forked writer's, once it is done with the directory
void end_dump(Dump& d);        // dump.cpp: closes the image's fds, unmaps the scratch, releases the threads
bool begin_image(Dump& d);     // image_dir.cpp: number, stale temp dirs, status busy, temp dir
bool write_core(Dump& d);      // core_writer.cpp
bool save_kernel_objects(Dump& d);  // kernel_objects.cpp: object state, bytes in pipes/sockets
bool copy_files(Dump& d);      // file_copy.cpp: fd copies, shared mappings, exe (not forked: see next)
bool copy_forked_exe(Dump& d);  // file_copy.cpp: a forked dump's writer copies the executable
bool write_manifest(Dump& d);  // manifest.cpp
bool plan_incremental(Dump& d);   // incremental.cpp: the parent image, or a full dump saying why
// Small files of the image written just before the core is synced, synced
// just after it: each one's writeback starts when it is written
// (sync_file_range), so the core's fsync commits the file system's journal
// with them in it, and their own fsyncs find little left to do. One by one,
// each small file's fsync was a journal commit of its own, while the job was
// stopped (in-process: `parent` ~11 ms, `pages` ~5 ms at load 5).
struct SyncAfter {
  int fds[2] = {-1, -1};
  size_t n = 0;
  SyncAfter() = default;
  SyncAfter(const SyncAfter&) = delete;
  SyncAfter& operator=(const SyncAfter&) = delete;
  ~SyncAfter();
  long add(int fd);  // takes fd (written); its writeback starts now (0, or -errno when full and synced now)
  long sync_all();   // fsyncs and closes them: 0, or the first -errno
};
// incremental.cpp: the `pages` file (and `parent`); with `after`, their fsyncs
// are left to it (fsync on), otherwise made here.
bool write_page_hashes(Dump& d, SyncAfter* after);
bool write_parent_file(Dump& d, int dir, const char* parent, SyncAfter* after = nullptr);  // dir/parent
void lineage_begin(const Dump& d);  // incremental.cpp: the memory now descends from this image
void lineage_abandon();             // ...or not, the dump failed in-process
// The parent image's directory (a tree's: this process's proc-PID in it), or -errno.
long open_parent_image(const Dump& d, const char* name);
// The coordinator of a tree: whether its lineage's image can be the tree's
// parent (a tree image of this process, within CKPT_MAX_CHAIN, still there).
bool tree_parent_usable(const Dump& d);
const char* lineage_image();
// The parent's checksum of the page at addr; 0 if it has none (0 = "unknown").
uint64_t parent_page_hash(Dump& d, uint64_t addr);
bool commit_image(Dump& d);    // image_dir.cpp: fsync, rename, latest, status ok
// image_dir.cpp: creates top/proc-PID (and its files/), this process's image in a tree's.
bool open_proc_image(Dump& d, int top);
void abandon_image(Dump& d);   // image_dir.cpp: remove the temp dir, status fail, stderr line

// Writes the one-line status to DIR/.ckpt-status (256 bytes, in place), and
// with it the write's stamp and, for a complete image, the whole time the job
// was stopped (stopped_ns > 0).
void write_status(const Config& cfg, const char* line, size_t len, uint64_t stopped_ns = 0);
uint64_t monotonic_ns();

// fork_headroom.cpp: whether the memory a forked dump's copies could take (the
// job's resident anonymous memory) is free, in the machine and in the job's
// memory control group; both figures in bytes.
bool fork_has_room(uint64_t* need, uint64_t* room);
// The same for the processes `pids` of a tree forked together (their sum).
bool tree_fork_has_room(const int32_t* pids, size_t n, uint64_t* need, uint64_t* room);
// fork_snapshot.cpp: forks the writer of a forked dump, its copy of the job's
// memory checked complete (MADV_DONTFORK mappings included); the writer's pid
// in the job, 0 in the writer, -errno when no writer was forked.
long fork_snapshot(Dump& d);

// Runs one whole checkpoint for signal `sig` (from the handler); with
// stay_stopped (a request for a job that was stopped, stay_stopped_request),
// the process stops itself again once the dump no longer needs it running,
// and a request that was sent while it stayed stopped is left in *next for
// the handler to raise again (si_signo 0 when there was none).
void run_checkpoint(const Config& cfg, int sig, ucontext_t* uc, bool stay_stopped, siginfo_t* next);
// A request sent with ckpt/signal_rule.h's kStayStoppedRequest.
bool stay_stopped_request(const siginfo_t* info);

// Writes dst_dir/name (0600) from `read` (bytes at offset off into buf, 0 at
// the end, or -errno), hashing it; file_copy.cpp.
using ChunkReader = long (*)(void* ctx, char* buf, size_t cap, uint64_t off);
// The same for a whole file `src`, or a link to the parent image's copy of
// `path` (nullptr: the executable) when its bytes are unchanged (copy_reuse.h),
// or in an incremental image the ranges changed since that copy (*delta set;
// file_delta.h). `delta` nullptr: always the whole content.
bool copy_file(Dump& d, int src, const char* path, size_t path_len, int dst_dir, const char* name, uint64_t* size,
               uint64_t* hash, const CopyDelta** delta);
// Whether this dump copies the file dev/ino already, as an fd's or a shared mapping's.
bool already_copied(const Dump& d, uint64_t dev, uint64_t ino);
bool copy_stream(Dump& d, int dst_dir, const char* name, ChunkReader read, void* ctx, uint64_t* size,
                 uint64_t* hash);

// Appends ,"object":{...} for an fd that has one (object_manifest.cpp).
void write_fd_object(Text& t, const FdEntry& e);

// Writes all of buf (retrying short writes); returns 0 or -errno.
long write_all(int fd, const void* buf, size_t n);
// Reads dirfd/name (opened with `flags`) whole into buf, at most cap bytes
// (-E2BIG if longer); its length or -errno.
long read_whole(int dirfd, const char* name, char* buf, size_t cap, int flags);
// Reads a whole /proc-style file into buf (NUL-terminated); returns length or -errno.
long read_small_file(int dirfd, const char* path, char* buf, size_t cap);

}  // namespace ckptlib
