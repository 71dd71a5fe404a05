// Writing the job's memory into the core in two tasks at once: the handler
// copies each chunk into a small ring of buffers and hashes it there, while a
// writer task (clone with CLONE_VM: our memory and our fds, but its own PID, so
// the job stays single-threaded to the world) writes full buffers to the file.
//
// Why copy at all: on this machine type (a PVM guest) the kernel's first read
// of each page of the job's memory through the user mapping costs several times
// the copy itself. pwrite() straight from the job's memory ran at 0.17-0.26x the
// rate of dd; a user-space copy into a hot buffer avoids that cost, and doing
// the copy and the write on the two cores at once hides the copy.
//
// If the writer cannot be started (seccomp, RLIMIT_NPROC...), put() writes
// synchronously from the same buffers: slower, never wrong.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "hash.h"

namespace ckptlib {

class WritePipeline {
 public:
  static constexpr uint32_t kSlots = 4;  // 1 MiB each, dd's own block size
  static constexpr size_t kSlotSize = kIoBufSize / kSlots;

  WritePipeline(Dump& d, int fd);
  ~WritePipeline();  // never leaves the writer running
  WritePipeline(const WritePipeline&) = delete;
  WritePipeline& operator=(const WritePipeline&) = delete;

  // Copies len bytes at src to file offset off, hashing the copy (what reaches
  // the file, even where src is the handler's own stack and still changing),
  // into `also` as well if given.
  bool put(const void* src, size_t len, uint64_t off, HashState* state, HashState* also = nullptr);
  // Every chunk put so far is in the file. False (recorded in the Dump) if a
  // write failed.
  bool finish();
  // The io buffer may be used for something else until the next put().
  bool drain();

 private:
  struct Slot {
    char* buf;
    size_t len;
    uint64_t off;
  };
  static int writer_main(void* self);
  bool wait_until_behind(uint32_t chunks);
  void stop_writer();

  Dump& d_;
  int fd_;
  long writer_pid_ = -1;
  long parent_pid_;
  Slot slots_[kSlots];
  // Handler -> writer: chunks posted, "no more", and an event count the
  // writer sleeps on. Writer -> handler: chunks written, the first error, and
  // an event count the handler sleeps on.
  uint32_t posted_ = 0, closing_ = 0, to_writer_ = 0;
  uint32_t written_ = 0, to_handler_ = 0;
  int32_t error_ = 0;
  uint32_t writer_alive_ = 0;  // the kernel zeroes it when the writer exits
};

}  // namespace ckptlib
