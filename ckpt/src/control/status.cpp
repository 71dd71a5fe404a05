#include "status.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "ckpt/control.h"
#include "ckpt/image_format.h"

namespace fs = std::filesystem;

namespace ckptsim::ckpt {

namespace {

// The whole of an opened file if it is a regular one of at most max_bytes;
// else "" and, in *why, EINVAL (not a regular file) or EFBIG (too large).
std::string read_regular(int fd, size_t max_bytes, int* why = nullptr) {
  std::string text;
  struct stat sb {};
  const bool ok = fd >= 0 && ::fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && static_cast<uint64_t>(sb.st_size) <= max_bytes;
  if (why && fd >= 0 && !ok) *why = S_ISREG(sb.st_mode) ? EFBIG : EINVAL;
  if (ok) {
    text.resize(static_cast<size_t>(sb.st_size));
    size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::pread(fd, text.data() + got, text.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    text.resize(got);
  }
  if (fd >= 0) ::close(fd);
  return text;
}

constexpr int kJobFileFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;

}  // namespace

std::string read_job_file(const fs::path& path, size_t max_bytes) {
  return read_regular(::open(path.c_str(), kJobFileFlags), max_bytes);
}

std::string read_image_file(const fs::path& dir, const std::string& image, const std::string& name, size_t max_bytes,
                            int* why) {
  if (why) *why = 0;
  const int image_fd = ::open((dir / image).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (image_fd < 0) {
    if (why) *why = errno;
    return {};
  }
  const int fd = ::openat(image_fd, name.c_str(), kJobFileFlags);
  if (fd < 0 && why) *why = errno;
  ::close(image_fd);
  return read_regular(fd, max_bytes, why);
}

// The library overwrites the file in place, so a read can meet a write half
// done: the text counts only when two reads in a row agree.
DumpStatus read_dump_status(const fs::path& dir) {
  const fs::path path = dir / image_format::kStatusFile;
  std::string text = read_job_file(path, 1024);
  for (int tries = 0; tries < 100; ++tries) {
    std::string again = read_job_file(path, 1024);
    if (again == text) break;
    text = std::move(again);
  }
  DumpStatus st;
  std::istringstream lines(text);
  std::getline(lines, st.line);
  std::string second;
  if (std::getline(lines, second) && second.size() > 1 && second[0] == '@') {
    std::istringstream fields(second);
    fields >> st.stamp;
    for (std::string f; fields >> f;)
      if (f.rfind("stopped_ns=", 0) == 0 && f.size() > 11 && f.size() <= 30 && f.find_first_not_of("0123456789", 11) == std::string::npos)
        st.stopped_s = std::stoull(f.substr(11)) / 1e9;
  }
  std::istringstream words(st.line);
  words >> st.word >> st.seq;
  std::getline(words >> std::ws, st.rest);
  while (!st.rest.empty() && st.rest.back() == ' ') st.rest.pop_back();
  // "ok N ckpt-NNNN dirty: kernel": the image name, then a note.
  if (const size_t space = st.rest.find(' '); st.word == "ok" && space != std::string::npos) {
    st.note = st.rest.substr(space + 1);
    st.rest.resize(space);
  }
  struct stat sb;
  if (st.stamp.empty() && ::lstat(path.c_str(), &sb) == 0) st.mtime = sb.st_mtim;
  return st;
}

bool DumpStatus::changed_since(const DumpStatus& before) const {
  if (line != before.line || stamp != before.stamp) return true;
  // A file from a library without stamps (a job restored from an older image).
  return stamp.empty() &&
         (mtime.tv_sec != before.mtime.tv_sec || mtime.tv_nsec != before.mtime.tv_nsec);
}

unsigned long image_number(const std::string& name) { return image_format::image_number(name.data(), name.size()); }

unsigned long highest_image(const fs::path& dir) {
  unsigned long highest = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    highest = std::max(highest, image_number(e.path().filename().string()));
  return highest;
}

}  // namespace ckptsim::ckpt
