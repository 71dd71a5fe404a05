// One mapping's memory into the core (segment_writer.cpp), for write_core.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "write_pipeline.h"

namespace ckptlib {

// Writes mapping m's bytes at its segment offset and sets m.xxh3 from what
// reached the file. False (recorded in the Dump) on a write error.
bool write_segment(Dump& d, int fd, Mapping& m, WritePipeline& pipe, int pagemap);

// process_vm_readv of our own memory: bytes read, or -EFAULT where a page
// cannot be read (past the end of its file), or another -errno.
long read_self(void* buf, uint64_t addr, size_t len);

}  // namespace ckptlib
