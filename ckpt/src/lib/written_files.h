// The files a job writes. A checkpoint copies every file open in the job,
// but a file written by a process that has closed it since (`>> out` from a
// short-lived shell, a log opened per line) is open nowhere at that moment:
// without a record of it, what the killed run appended after the checkpoint
// stays in the file and the restored run writes it again. So every process
// of the job notes the regular files it opens for writing, by absolute path,
// in one journal in the checkpoint directory (DIR/.ckpt-written, NUL-ended
// records appended with O_APPEND: one write each, whole), and the dump copies
// each file the journal names (files/wr-K) for restart to put back.
#pragma once
#include <stddef.h>

namespace ckptlib {

struct Dump;

namespace written_files {

// Called once by the library's constructor with the absolute checkpoint
// directory (nullptr: not resolved, nothing is noted). Looks up the libc
// functions the interposers call on.
void start(const char* dir);

// The interposers (written_journal.cpp): fd was just opened with `flags`.
void note_open(int fd, int flags);
// `path` relative to dirfd was just renamed onto or truncated.
void note_path(int dirfd, const char* path);

}  // namespace written_files

// The dump's side (written_files.cpp): every file the journal names that is
// not copied already (an open fd's, a shared mapping's) is copied into
// files/wr-K; d.written lists them. A file gone since is left out (the
// restore leaves that path alone). Compacts the journal when it has grown
// mostly repeats: the job is stopped, no process of it appends meanwhile.
bool copy_written_files(Dump& d);

}  // namespace ckptlib
