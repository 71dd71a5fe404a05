// Incremental file copies (ckpt/src/lib/file_delta.h): a copy that holds only
// the ranges changed since the parent image's copy of the file is rebuilt from
// the chain before anything is checked or restored. The oldest link's whole
// copy is checked against its own checksum, each link's ranges against
// theirs, so a damaged or missing part is named; the rebuilt content is then
// checked against the image's whole-file checksum like any other copy
// (verify_image.cpp), and from then on it is what the image's files/NAME is.
// The content is rebuilt in memory (a memfd): RAM for the file's size.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <cstring>
#include <vector>

#include "file_hash.h"
#include "image_files.h"
#include "phases.h"
#include "util/hex.h"

namespace ckptsim::restart {
namespace {

struct CopyFacts {
  uint64_t size = 0;
  std::string xxh3, path;
};

// What `link`'s manifest says of its copy `copy`.
std::optional<CopyFacts> copy_facts(const Image& link, const std::string& copy) {
  for (const auto& fd : link.fds)
    if (fd.kind == "regular" && fd.copy == copy) return CopyFacts{fd.size, fd.xxh3, fd.path};
  for (const auto& sf : link.shared_files)
    if (sf.copy == copy) return CopyFacts{sf.size, sf.xxh3, sf.path};
  for (const auto& wf : link.written_files)
    if (wf.copy == copy) return CopyFacts{wf.size, wf.xxh3, wf.path};
  return std::nullopt;
}

std::string in_chain(const Image& img, size_t l) {
  return l == 0 ? std::string() : "parent image " + img.link(l).name() + " (in the chain of " + img.name() + "): ";
}

void read_at(int fd, uint8_t* buf, size_t n, uint64_t off, const std::string& what) {
  for (size_t done = 0; done < n;) {
    const ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw ImageError("cannot read " + what + (r < 0 ? std::string(": ") + std::strerror(errno) : " (short)"));
    done += static_cast<size_t>(r);
  }
}

void write_at(int fd, const uint8_t* buf, size_t n, uint64_t off) {
  for (size_t done = 0; done < n;) {
    const ssize_t r = ::pwrite(fd, buf + done, n - done, static_cast<off_t>(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw ImageError(std::string("cannot rebuild a file copy in memory: ") + std::strerror(errno));
    done += static_cast<size_t>(r);
  }
}

// Writes the content of link l's copy `copy` into `out` (from offset 0).
void write_content(const Image& img, size_t l, const std::string& copy, int out, std::vector<uint8_t>& buf) {
  const Image& link = img.link(l);
  const auto facts = copy_facts(link, copy);
  if (!facts) throw ImageError(in_chain(img, l) + "it has no copy " + copy + " (its manifest names none)");
  const std::string what = (link.dir / copy).string() + " (copy of " + facts->path + ")";
  int src = -1;
  try {
    src = link.files->get(copy);
  } catch (const ImageError& e) {  // "missing DIR/files/NAME", a link, another owner...
    throw ImageError(in_chain(img, l) + e.what());
  }
  auto it = link.copy_deltas.find(copy);
  if (it == link.copy_deltas.end()) {  // a whole copy: the chain's oldest part
    uint64_t size = 0;
    const auto h = xxh3_of_fd(src, &size);
    if (!h) throw ImageError(in_chain(img, l) + "cannot read " + what);
    if (size != facts->size || *h != facts->xxh3) throw ImageError(in_chain(img, l) + what + " is corrupt: checksum mismatch");
    for (uint64_t off = 0; off < size;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
      read_at(src, buf.data(), n, off, what);
      write_at(out, buf.data(), n, off);
      off += n;
    }
    return;
  }
  const CopyDelta& cd = it->second;
  if (l >= img.ancestors.size()) throw ImageError(in_chain(img, l) + what + " names a parent copy, but no parent image");
  const auto parent = copy_facts(img.link(l + 1), cd.parent_copy);
  if (!parent || parent->size != cd.parent_size || parent->xxh3 != cd.parent_xxh3)
    throw ImageError(in_chain(img, l) + what + " names " + cd.parent_copy + " of " + img.link(l + 1).name() +
                     ", which does not hold the content it was written on");
  // The ranges first: a damaged delta is named before the parent is read.
  uint64_t own_size = 0;
  const auto own = xxh3_of_fd(src, &own_size);
  if (!own || own_size != cd.bytes || *own != cd.bytes_xxh3)
    throw ImageError(in_chain(img, l) + (link.dir / copy).string() + " (the ranges of " + facts->path +
                     " changed since " + img.link(l + 1).name() + ") is corrupt: checksum mismatch");
  write_content(img, l + 1, cd.parent_copy, out, buf);
  if (::ftruncate(out, static_cast<off_t>(facts->size)) != 0)
    throw ImageError(std::string("cannot rebuild a file copy in memory: ") + std::strerror(errno));
  uint64_t from = 0;
  for (const auto& [off, len] : cd.ranges) {
    for (uint64_t done = 0; done < len;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), len - done));
      read_at(src, buf.data(), n, from, what);
      write_at(out, buf.data(), n, off + done);
      done += n;
      from += n;
    }
  }
}

}  // namespace

void rebuild_file_copies(Image& img) {
  std::vector<uint8_t> buf(4 << 20);
  for (const auto& [copy, delta] : img.copy_deltas) {
    if (img.files->replaced(copy)) continue;  // rebuilt by an earlier verification
    util::OwnedFd out(::memfd_create("ckptsim-file-copy", MFD_CLOEXEC));
    if (!out) throw ImageError(std::string("cannot rebuild a file copy in memory: ") + std::strerror(errno));
    write_content(img, 0, copy, out.get(), buf);
    img.files->replace(copy, std::move(out));
  }
}

}  // namespace ckptsim::restart
