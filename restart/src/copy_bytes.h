// Copying a file's first `size` bytes into another descriptor (from offset 0).
#pragma once
#include <cstdint>
#include <string>

namespace ckptsim::restart {

// copy_file_range, or pread/pwrite across file systems; RestoreError naming `what`.
void copy_bytes(int src, int dst, uint64_t size, const std::string& what);

}  // namespace ckptsim::restart
