// Everything about an image is checked before anything runs: who owns it, who
// could have changed it, that it was taken on this kernel, and every checksum.
// Read-only: a bad image is reported and left exactly as it was.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "file_hash.h"
#include "image_files.h"
#include "phases.h"
#include "util/hex.h"

namespace ckptsim::restart {
namespace fs = std::filesystem;
namespace {

void check_file_copy(const Image& img, const std::string& rel, uint64_t size, const std::string& xxh3,
                     const std::string& what) {
  const fs::path p = img.dir / rel;
  uint64_t actual_size = 0;
  auto h = xxh3_of_fd(img.files->get(rel), &actual_size);
  if (!h) throw ImageError("cannot read " + p.string() + " (" + what + ")");
  if (actual_size != size)
    throw ImageError(p.string() + " (" + what + ") is " + std::to_string(actual_size) + " bytes, the manifest says " +
                     std::to_string(size));
  if (*h != xxh3) throw ImageError(p.string() + " (" + what + ") is corrupt: checksum mismatch");
}

std::string segment_name(const Mapping& m) { return "segment " + describe(m); }

struct Hasher {
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> state{XXH3_createState(), XXH3_freeState};
  std::vector<uint8_t> buf = std::vector<uint8_t>(4 << 20);
  void reset() { XXH3_64bits_reset(state.get()); }
  void add(const Image& link, uint64_t off, uint64_t len) {
    for (uint64_t done = 0; done < len;) {
      const size_t n = std::min<uint64_t>(buf.size(), len - done);
      read_core_at(link, off + done, n, buf.data());
      XXH3_64bits_update(state.get(), buf.data(), n);
      done += n;
    }
  }
  std::string digest() { return util::hex64(XXH3_64bits_digest(state.get())); }
};

// A chain's segment does not add up: find the link whose own bytes are
// corrupt (each link checks what it holds: its delta, or a whole segment).
[[noreturn]] void blame_link(const Image& img, const Mapping& m, Hasher& h) {
  std::vector<size_t> links;
  for (const auto& p : m.pieces)
    if (std::find(links.begin(), links.end(), p.link) == links.end()) links.push_back(p.link);
  std::sort(links.begin(), links.end());
  for (size_t l : links) {
    const Image& link = img.link(l);
    for (const Mapping& am : link.mappings) {
      if (!am.dumped || am.end <= m.start || am.start >= m.end) continue;
      h.reset();
      if (am.delta) {
        for (const auto& [first, count] : am.runs) h.add(link, am.core_offset + first * 4096, count * 4096);
      } else {
        h.add(link, am.core_offset, am.size());
      }
      if (h.digest() == (am.delta ? am.delta_xxh3 : am.xxh3)) continue;
      const std::string what = "core: " + segment_name(am) + " is corrupt: checksum mismatch";
      if (l == 0) throw ImageError(what);
      throw ImageError("parent image " + link.name() + " (in the chain of " + img.name() + "): " + what);
    }
  }
  throw ImageError("core: " + segment_name(m) + " does not match its checksum, assembled from the chain of " + img.name());
}

// Segments are hashed from pread()s into one buffer: on a warm cache that
// runs at memory speed, where faulting in a mapping of the core page by page
// took several times longer. A chain's segments are hashed as assembled.
void verify_core_hashes(const Image& img, Verify mode) {
  check_core_header(img);
  if (mode == Verify::Quick) return;
  for (size_t l = 0; l <= img.ancestors.size(); ++l) ::posix_fadvise(img.core_fd(l), 0, 0, POSIX_FADV_SEQUENTIAL);
  Hasher h;
  for (const auto& m : img.mappings) {
    if (!m.dumped) continue;
    h.reset();
    for (const auto& p : m.pieces) h.add(img.link(p.link), p.core_offset, p.len);
    if (h.digest() == m.xxh3) continue;
    if (!img.ancestors.empty()) blame_link(img, m, h);
    throw ImageError("core: " + segment_name(m) + " is corrupt: checksum mismatch");
  }
}

}  // namespace

void read_core_at(const Image& link, uint64_t off, size_t len, uint8_t* buf) {
  const int fd = link.core_fd(0);
  for (size_t done = 0; done < len;) {
    const ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ImageError("core: cannot read " + link.core.string() + " (truncated?)");
    done += static_cast<size_t>(n);
  }
}

uint64_t core_header_size(const Image& img) {
  uint64_t first_segment = img.core_size;
  for (const auto& m : img.mappings)
    if (m.dumped) first_segment = std::min(first_segment, m.core_offset);
  return first_segment;
}

void check_core_header(const Image& img) {
  const uint64_t first_segment = core_header_size(img);
  std::vector<uint8_t> buf(first_segment);
  read_core_at(img, 0, first_segment, buf.data());
  if (util::xxh3_hex(buf.data(), first_segment) != img.core_header_xxh3)
    throw ImageError("core: header checksum mismatch (ELF header, program headers or notes are corrupt)");
}

Image verify_image(const fs::path& image, Verify mode) { return verify_image(std::make_shared<ImageFiles>(image), mode); }

Image verify_image(std::shared_ptr<ImageFiles> files, Verify mode) {
  Image img = read_manifest(*files);
  img.files = files;
  utsname uts{};
  ::uname(&uts);
  if (img.kernel_release != uts.release)
    throw ImageError("image was taken on kernel " + img.kernel_release + ", this is " + uts.release +
                     ": restoring needs the same kernel (vdso, vvar layout)");
  read_core(img);
  read_chain(img);
  verify_core_hashes(img, mode);
  rebuild_file_copies(img);

  check_file_copy(img, img.exe_copy, img.exe_size, img.exe_xxh3, "copy of " + img.program_path);
  if (fs::exists(img.program_path)) {
    uint64_t size = 0;
    auto h = xxh3_of_file(img.program_path, &size);
    if (!h || *h != img.exe_xxh3 || size != img.exe_size)
      throw ImageError("executable " + img.program_path + " has changed since the checkpoint");
  } else {
    img.exec_copy = true;  // another node: the image carries the executable
  }
  for (const auto& fd : img.fds)
    if (fd.kind == "regular")
      check_file_copy(img, fd.copy, fd.size, fd.xxh3, "copy of fd " + std::to_string(fd.fd) + ", " + fd.path);
  check_objects(img);
  for (const auto& fd : img.fds)
    if (fd.object && fd.object->data)
      check_file_copy(img, fd.object->data->file, fd.object->data->size, fd.object->data->xxh3,
                      "bytes queued in fd " + std::to_string(fd.fd) + ", " + fd.path);
  for (const auto& sf : img.shared_files) check_file_copy(img, sf.copy, sf.size, sf.xxh3, "copy of " + sf.path);
  for (const auto& wf : img.written_files) check_file_copy(img, wf.copy, wf.size, wf.xxh3, "copy of " + wf.path);
  return img;
}

}  // namespace ckptsim::restart
