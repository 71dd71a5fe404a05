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
#include <memory>
#include <vector>

#include "file_hash.h"
#include "image_files.h"
#include "phases.h"

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

// Segments are hashed from pread()s into one buffer: on a warm cache that
// runs at memory speed, where faulting in a mapping of the core page by page
// took several times longer.
void verify_core_hashes(const Image& img, Verify mode) {
  uint64_t first_segment = img.core_size;
  for (const auto& m : img.mappings)
    if (m.dumped) first_segment = std::min(first_segment, m.core_offset);
  const int core = img.files->get("core");
  std::vector<uint8_t> buf(std::max<uint64_t>(first_segment, mode == Verify::Quick ? 0 : 4 << 20));
  auto read_at = [&](uint64_t off, size_t len) {
    for (size_t done = 0; done < len;) {
      ssize_t n = ::pread(core, buf.data() + done, len - done, static_cast<off_t>(off + done));
      if (n <= 0) throw ImageError("core: cannot read " + img.core.string() + " (truncated?)");
      done += n;
    }
  };
  read_at(0, first_segment);
  if (xxh3_of_bytes(buf.data(), first_segment) != img.core_header_xxh3)
    throw ImageError("core: header checksum mismatch (ELF header, program headers or notes are corrupt)");
  if (mode == Verify::Quick) return;
  ::posix_fadvise(core, 0, 0, POSIX_FADV_SEQUENTIAL);
  XXH3_state_t* state = XXH3_createState();
  std::unique_ptr<XXH3_state_t, XXH_errorcode (*)(XXH3_state_t*)> owned(state, XXH3_freeState);
  for (const auto& m : img.mappings) {
    if (!m.dumped) continue;
    XXH3_64bits_reset(state);
    for (uint64_t done = 0; done < m.size();) {
      const size_t n = std::min<uint64_t>(buf.size(), m.size() - done);
      read_at(m.core_offset + done, n);
      XXH3_64bits_update(state, buf.data(), n);
      done += n;
    }
    if (hex_xxh3(XXH3_64bits_digest(state)) != m.xxh3) {
      char range[64];
      std::snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(m.start),
                    static_cast<unsigned long long>(m.end));
      throw ImageError(std::string("core: segment ") + range + " (" + (m.path.empty() ? m.kind : m.path) +
                       ") is corrupt: checksum mismatch");
    }
  }
}

}  // namespace

Image verify_image(const fs::path& image, Verify mode) {
  auto files = std::make_shared<ImageFiles>(image);
  Image img = read_manifest(*files);
  img.files = files;
  utsname uts{};
  ::uname(&uts);
  if (img.kernel_release != uts.release)
    throw ImageError("image was taken on kernel " + img.kernel_release + ", this is " + uts.release +
                     ": restoring needs the same kernel (vdso, vvar layout)");
  read_core(img);
  verify_core_hashes(img, mode);

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
  return img;
}

}  // namespace ckptsim::restart
