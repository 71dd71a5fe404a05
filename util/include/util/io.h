// Whole-buffer reads and writes on a blocking fd: write(2) and read(2) may do
// part of the work, or be interrupted by a signal (the stop flag's handler
// has no SA_RESTART), and every caller wants all of it or a failure.
#pragma once
#include <cstddef>
#include <string>

namespace ckptsim::util {

// Writes all `len` bytes, retrying after EINTR. False on error (errno says why).
bool write_all(int fd, const void* buf, std::size_t len);
bool write_all(int fd, const std::string& data);
// Reads exactly `len` bytes, retrying after EINTR. False on error (errno says
// why) or at end of file before `len` (errno 0).
bool read_all(int fd, void* buf, std::size_t len);

}  // namespace ckptsim::util
