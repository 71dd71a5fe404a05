// DIR/.ckpt-status, the one line libckpt.so keeps about its latest dump
// ("busy N", "ok N ckpt-NNNN", "fail N reason", "idle 0"), as the control
// side reads it: `checkpoint --wait` and `run --interval auto` follow it.
#pragma once
#include <time.h>

#include <filesystem>
#include <string>

namespace ckptsim::ckpt {

struct DumpStatus {
  std::string word;  // busy / ok / fail / idle ("" when there is no file)
  unsigned long seq = 0;
  std::string rest;  // the image name after "ok", the reason after "fail"
  std::string note;  // after "ok" and the name: "dirty: kernel" / "dirty: checksums" (incremental mode),
                     // "processes: N[, zombies: Z]" (a process tree's image)
  std::string line;
  std::string stamp;        // the second line: when the library wrote it ("" from an older library)
  double stopped_s = -1;     // after "ok": how long the dump stopped the job, to the end (-1: not said)
  struct timespec mtime {};  // only for files without a stamp

  // A different line or a rewrite of the same one since `before` was read.
  bool changed_since(const DumpStatus& before) const;
};

DumpStatus read_dump_status(const std::filesystem::path& dir);

// A file the job writes (its status, a manifest), read as untrusted: a regular
// file, the last component not a link, never blocking, at most max_bytes ("" otherwise).
std::string read_job_file(const std::filesystem::path& path, size_t max_bytes);
// The same for DIR/IMAGE/NAME, IMAGE not a link either. With `why`, "" comes
// with the reason: the open's errno (ENOENT, ELOOP for a link...), EINVAL for
// not a regular file, EFBIG for more than max_bytes; 0 when it was read.
std::string read_image_file(const std::filesystem::path& dir, const std::string& image, const std::string& name,
                            size_t max_bytes, int* why = nullptr);

// The highest N of the DIR/ckpt-N entries (0: none).
unsigned long highest_image(const std::filesystem::path& dir);

}  // namespace ckptsim::ckpt
