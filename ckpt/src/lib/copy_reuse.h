// Copies an incremental image shares with its parent (issue 23 item 1, in
// part): a file whose copy in the parent image is the same bytes (same size,
// same XXH3) is hard-linked from there instead of written again, so the
// executable and every unchanged file cost one read and no space per image
// of a chain. The parent is named by the manifest `plan_incremental` read;
// restart sees an ordinary copy, checked against this image's own checksum.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace ckptlib {

struct Dump;

// Where the parent keeps the copy of the file at `path` (nullptr: the
// executable), and its size and checksum; false when it has none.
struct ParentCopy {
  char name[64];  // "exe" or "files/NAME"
  uint64_t size, xxh3;
  bool delta;  // the parent's copy holds only ranges changed since its own parent
};
bool find_parent_copy(const Dump& d, const char* path, size_t path_len, ParentCopy* out);

// Links the parent's copy of `src` (open for reading, `path` as the manifest
// names it; nullptr: the executable) as dst_dir/name when its bytes are
// unchanged, filling size and hash; false when it did not (nothing written:
// the caller copies). No failure is reported: a copy is always the fallback.
// A parent copy that is a delta is never linked (it is not the whole content);
// the block checksums beside a linked copy are linked with it.
bool link_unchanged(Dump& d, int src, const char* path, size_t path_len, int dst_dir, const char* name, uint64_t* size,
                    uint64_t* hash);

// Links the parent's block checksums of `parent_copy` as dst_dir/name.blocks (best effort).
void link_block_sums(Dump& d, const char* parent_copy, int dst_dir, const char* name);

}  // namespace ckptlib
