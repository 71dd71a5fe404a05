// Which pages were written since the parent image, from the kernel
// (CKPT_DIRTY, dirty_tracking.cpp): userfaultfd write-protect in async mode
// and the PAGEMAP_SCAN ioctl (Linux >= 6.7). Where the kernel cannot say, the
// incremental dump checksums the pages, as it always did (incremental.cpp).
#pragma once
#include <stdint.h>

namespace ckptlib {

struct Dump;
struct Mapping;

// CKPT_DIRTY: auto (the kernel where it works, else checksums), kernel (the
// same, but a kernel that cannot is said on stderr once), checksum (never the
// kernel: the fallback, forced).
enum class DirtyMode : uint8_t { automatic, kernel, checksum };

// Before any memory of this dump is written, threads stopped, after
// plan_incremental: reads (and re-arms, atomically) what was written since the
// parent image where the parent was armed by this very process with the same
// extents, then arms every other tracked mapping. Sets Mapping::dirty_known.
void dirty_prepare(Dump& d);
// A page of a mapping with dirty_known: was it written since the parent image?
// Pages must be asked in increasing address order within one dump.
bool dirty_page_written(Dump& d, uint64_t addr);
// The image was not made (or was a tree's): what the kernel saw since is not
// relative to the lineage's image any more, so the next dump checksums.
void dirty_forget();
// read_fd_table: the library's userfaultfd is not the job's. Validates first
// that the number still is ours (a restored process inherits only the number).
bool dirty_own_fd(int fd);
void dirty_settle();
// pthread_atfork's child handler: a child's memory is not registered (no
// UFFD_FEATURE_EVENT_FORK) and the fd must not become one of the job's.
void dirty_after_fork();
// What the last dump_prepare ran, for the status line.
const char* dirty_method(const Dump& d);

}  // namespace ckptlib
