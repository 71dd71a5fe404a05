// A process tree's checkpoint (docs/internals.md "Process trees"): the
// coordinator (the process the checkpoint signal came to from outside) finds
// its descendants, has each of them stop in its own handler (a member request:
// rt_sigqueueinfo with a magic value), and only when all are stopped has each
// write its ordinary image into DIR/.tmp-.../proc-PID; then it writes
// tree.json, commits, and lets them all go on. The tree's state lives in the
// library's data (one dump at a time per process) and in the dump's pool.
#pragma once
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "dump.h"

namespace ckptlib {

constexpr size_t kMaxMembers = 512;      // processes of one tree
constexpr size_t kMaxTreeFds = 16384;    // open fds of all its processes together
constexpr size_t kMaxTreePipes = 1024;   // pipes with both ends inside it
constexpr size_t kMaxProcs = 65536;      // processes in /proc, for one scan
constexpr uint64_t kTreeMagic = 0x434B5054ull;  // "CKPT": the high half of a member request's si_value
constexpr long kTreeStopBudgetNs = 10'000'000'000;  // every member stopped by then, or the dump is refused

// One line of /proc/PID/stat, as the job's pid namespace sees it.
struct ProcInfo {
  int32_t pid, ppid, pgrp, sid;
  char state;
  char comm[16];
  uint64_t start;  // starttime, in clock ticks since boot
};

struct ProcTable {
  ProcInfo* p;
  size_t n;
  bool* desc;     // p[i] descends from the coordinator
  uint64_t* ino;  // the inode number /proc gave p[i]'s directory (tree_collect.cpp read_table)
  // The previous read's, kept while the next one is made (it reuses what cannot have changed).
  ProcInfo* prev;
  bool* prev_desc;
  uint64_t* prev_ino;
};

struct Member {
  ProcInfo info;
  int exit_status;  // a zombie's raw wait status
  int sock;         // the coordinator's end of its connection, -1 until it connects
  int sock_fd;      // that connection's fd in the member's own table
  bool zombie, signalled, stopped, dumping, replied, ok;
};

// One open fd of a live member, for the tree-wide analysis (tree_fds.cpp).
struct FdRef {
  int32_t pid, fd;
  uint64_t dev, ino;
  uint32_t mode;  // st_mode of what it points to
  int acc;        // O_ACCMODE of the fd (pipes only)
  int32_t group;  // shared_files group, or -1
  bool listed;    // the first fd of its process in its group (tree.json names it)
};

// A forked tree dump's writer: a member's copy writing its core, that
// member's child (no exit signal) until the member reaps it at its next dump,
// or init's if the member ends first (a short-lived `sleep` of the job).
// Never a process of the job; known by pid and start time, so a later
// process given its pid (a restored job's) is not mistaken for it.
struct WriterRef {
  int32_t member, writer;
  uint64_t start;
};

struct Tree {
  Member m[kMaxMembers];  // m[0] is the coordinator
  size_t n;
  uint32_t order[kMaxMembers];  // tree order: root, then breadth-first, siblings by pid
  uint32_t nonce;
  int listener;
  ProcTable procs;
  FdRef* refs;  // in the dump's pool
  size_t nrefs;
  uint32_t ngroups;
  uint64_t pipes[kMaxTreePipes];  // inodes of the pipes whose ends are all in the tree
  size_t npipes;
  long deadline_ns;  // CLOCK_MONOTONIC: the stop budget's end
  WriterRef writers[kMaxMembers];  // forked tree dumps' writers still running (kept from one dump to the next)
  size_t nwriters;
};

// process_tree.cpp
bool parse_proc_stat(const char* t, size_t n, ProcInfo* s);
void proc_path(Text& t, long pid, const char* leaf);
// /proc/PID/stat into buf: its length, or -errno.
long read_proc_stat(long pid, char* buf, size_t cap);
const char* library_path(const Dump& d);
bool maps_library(Dump& d, long pid, const char* lib);
// Refuses a checkpoint of a process that is not its job's first one (its
// parent, or a group/session member that is not its descendant, is of the job).
bool refuse_outsiders(Dump& d, const ProcTable& pt);

// tree_collect.cpp
bool scan_job(Dump& d, Tree& t);  // the table, the refusals, the members found
// A process none of whose threads has a child (but the previous forked dump's
// writer, Dump::writer_pid) is its job alone: no tree to find, so a forked
// dump of it leaves the scan of /proc for outsiders (refuse_outsiders; ~25 us
// a process, 2-3 ms on a machine running 100) until after its fork, where
// the job no longer waits for it: take_alone in the stop, refuse_outsiders_now
// in the writer (or before an in-process write when there is no fork). The
// refusal then comes from a moment later than the snapshot; a group or
// session that changes within that millisecond is not one to guard against.
// /proc/self/task/N/children is needed (CONFIG_PROC_CHILDREN): without it,
// false, and the dump scans as before.
bool childless(Dump& d);
void take_alone(Dump& d, Tree& t);
bool refuse_outsiders_now(Dump& d);
bool rescan_members(Dump& d, Tree& t, bool* added);  // new descendants, exits
bool check_member(Dump& d, Tree& t, Member& m);  // carries the library, catches the signal, not a vfork child
int find_member(const Tree& t, long pid);
// A dump's own writer or its core-writing task, not the job's: this
// process's (Dump::writer_pid), or a member's of the last forked tree dump.
bool dump_writer(const Dump& d, const ProcTable& pt, const ProcInfo& p);
void name_member(Text& t, const Member& m);  // "process N (comm)"
bool refuse_member(Dump& d, const Member& m, const char* why);

// tree_protocol.cpp
bool member_request(const siginfo_t* info, long* coordinator, uint32_t* nonce);
bool open_listener(Dump& d, Tree& t);
bool signal_member(Dump& d, Tree& t, Member& m);
bool serve_connections(Dump& d, Tree& t, long timeout_ms);  // accepts, reads "stopped"
bool send_text(int sock, const char* text, size_t n, int pass_fd = -1);
long recv_text(int sock, char* buf, size_t cap, long timeout_ms, int* passed_fd = nullptr);
void close_connections(Tree& t, const char* last_word);
int connect_coordinator(long coordinator, uint32_t nonce);

// tree_fds.cpp: the fds of every member, pipes to outside refused, shared_files groups
bool analyse_tree_fds(Dump& d, Tree& t);

// tree_manifest.cpp
void tree_order(Tree& t);
bool write_tree_manifest(Dump& d, const Tree& t);

// tree_dump.cpp
bool run_tree_checkpoint(Dump& d, Tree& t);
// Shared by both sides: the incremental plan of this process's own core (true
// if the lineage moved), the in-process image, and a forked writer's part.
bool begin_lineage(Dump& d);
bool write_own_image(Dump& d);
bool write_forked_core(Dump& d);
// A tree's forked writer waits until its process runs again: the other
// processes still have their stopped work to do, and writers that start early
// take the CPU from them (the job is stopped until the last one has forked).
// The process closes its end of a pipe when it resumes (or dies); the writer
// waits for that EOF. Without a pipe, the writer starts at once.
struct WriterGate {
  int rd = -1, wr = -1;
  void open();            // before the fork
  void wait_in_writer();  // in the writer
  void forked();          // in the process, after the fork
  void release();         // in the process, when it resumes
};
void run_member_checkpoint(const Config& cfg, int sig, ucontext_t* uc, long coordinator, uint32_t nonce);
Tree& the_tree();

}  // namespace ckptlib
