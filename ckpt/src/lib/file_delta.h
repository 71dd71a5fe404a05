// Incremental file copies (issue 23 item 1). In an incremental run every
// file copy has the checksums of its content's 64 KiB blocks beside it
// (files/NAME.blocks). An incremental image's copy of a file its parent image
// copied too is then only what changed since: the blocks whose checksums
// differ (a region rewritten in place), the blocks past the parent's size (an
// append), and the new size (a truncation). One read of the file, none of the
// chain: the parent's checksums say what it holds. The manifest names the
// parent's copy and the ranges (docs/image-format.md, "Incremental file
// copies"); restart rebuilds the content from the chain and checks it against
// the whole-file checksum (restart/src/file_chain.cpp).
//
// Where the file system clones files (FICLONE: XFS, btrfs), a whole copy is
// a reflink: no bytes written, the file still read once for its checksums.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace ckptlib {

struct Dump;
struct CopyDelta;

// Copies src (the file the manifest names `path`; nullptr: the executable)
// to dst_dir/name, mode 0600, filling size and the content's hash. With
// `incremental`: its block checksums are written beside it, and when the
// parent image has checksums of its copy of `path`, only the changed ranges
// are (*delta set; the whole content when everything changed; a link to the
// parent's copy when nothing did). False on a failure, recorded in d.
bool copy_in_blocks(Dump& d, int src, const char* path, size_t path_len, int dst_dir, const char* name,
                    bool incremental, uint64_t* size, uint64_t* hash, const CopyDelta** delta);

}  // namespace ckptlib
