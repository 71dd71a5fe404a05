// `ckptsim image flatten`: one standalone full image from an image and its
// chain. The core keeps the image's own layout (ELF header, program headers
// and notes byte for byte, every segment at its offset), filled with the
// assembled bytes; zero pages stay holes, as the library leaves untouched
// memory. The manifest is the image's, without its parent and deltas, with its
// own checksum again. The image is verified first, as for a restore. A tree
// image is flattened process by process (each proc-PID from its own chain),
// with its tree.json as it is.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <set>
#include <vector>

#include "ckpt/image_summary.h"
#include "copy_bytes.h"
#include "file_hash.h"
#include "image_files.h"
#include "phases.h"
#include "tree.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {
namespace fs = std::filesystem;
namespace {

constexpr size_t kPage = 4096;

[[noreturn]] void fail(const fs::path& p, const std::string& what) {
  throw FlattenError("cannot " + what + " " + p.string() + ": " + std::strerror(errno));
}

util::OwnedFd create(const fs::path& p) {
  util::OwnedFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) fail(p, "create");
  return fd;
}

void write_at(int fd, const uint8_t* buf, size_t len, uint64_t off, const fs::path& p) {
  for (size_t done = 0; done < len;) {
    const ssize_t n = ::pwrite(fd, buf + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(p, "write");
    done += static_cast<size_t>(n);
  }
}

void write_core(const Image& img, const fs::path& out) {
  const fs::path path = out / fmt::kCore;
  util::OwnedFd fd = create(path);
  const uint64_t first_segment = core_header_size(img);
  std::vector<uint8_t> buf(std::max<uint64_t>(first_segment, 4 << 20));
  read_core_at(img, 0, first_segment, buf.data());
  write_at(fd.get(), buf.data(), first_segment, 0, path);
  static const std::vector<uint8_t> zero(kPage, 0);
  for (const auto& m : img.mappings) {
    for (const Piece& p : m.pieces) {
      for (uint64_t done = 0; done < p.len;) {
        const size_t n = std::min<uint64_t>(buf.size(), p.len - done);
        read_core_at(img.link(p.link), p.core_offset + done, n, buf.data());
        for (size_t at = 0; at < n; at += kPage) {  // pieces are whole pages
          if (std::memcmp(buf.data() + at, zero.data(), kPage) == 0) continue;
          write_at(fd.get(), buf.data() + at, kPage, m.core_offset + p.offset + done + at, path);
        }
        done += n;
      }
    }
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(img.core_size)) != 0 || ::fsync(fd.get()) != 0) fail(path, "write");
}

void copy_file(Image& img, const std::string& rel, const fs::path& out) {
  const int src = img.files->get(rel);
  struct stat st {};
  ::fstat(src, &st);
  util::OwnedFd dst = create(out / rel);
  copy_bytes(src, dst.get(), static_cast<uint64_t>(st.st_size), (out / rel).string());
  if (::fsync(dst.get()) != 0) fail(out / rel, "write");
}

// The manifest without what makes it incremental, checksummed as the
// library does (XXH3 of every byte before ,"manifest_xxh3").
std::string standalone_manifest(Image& img) {
  nlohmann::json j = nlohmann::json::parse(img.files->read_all(fmt::kManifest));
  j[fmt::key::kFormatVersion] = fmt::kFullVersion;
  j.erase(fmt::key::kParent);
  j.erase(fmt::key::kWritten);  // what the dump wrote; this one was not dumped
  j.erase(fmt::key::kOwnChecksum);
  j[fmt::key::kFlattenedFrom] = img.name();
  for (auto& m : j[fmt::key::kMappings]) {
    m.erase("delta");
    m.erase("delta_xxh3");
  }
  // File copies rebuilt from the chain are written whole (file_chain.cpp).
  for (const char* list : {"fds", "shared_files", "written_files"})
    if (auto it = j.find(list); it != j.end() && it->is_array())
      for (auto& f : *it) f.erase("delta");
  std::string text = j.dump();
  text.pop_back();  // '}'
  return ckpt::seal_manifest(std::move(text));
}

void make_out_dir(const fs::path& out) {
  if (::mkdir(out.c_str(), 0700) != 0) {
    if (errno == EEXIST) throw FlattenError(out.string() + " already exists: name a new directory with --out");
    fail(out, "create");
  }
}

// `img`, verified, as a standalone image in `out` (created here).
void flatten_one(Image& img, const fs::path& out) {
  make_out_dir(out);
  try {
    if (::chmod(out.c_str(), 0700) != 0) fail(out, "chmod");
    write_core(img, out);
    copy_file(img, img.exe_copy, out);
    std::set<std::string> copies;
    for (const auto& fd : img.fds) {
      if (!fd.copy.empty()) copies.insert(fd.copy);
      if (fd.object && fd.object->data) copies.insert(fd.object->data->file);
    }
    for (const auto& sf : img.shared_files) copies.insert(sf.copy);
    for (const auto& wf : img.written_files) copies.insert(wf.copy);
    const fs::path files = out / fmt::kFilesDir;
    if (::mkdir(files.c_str(), 0700) != 0 || ::chmod(files.c_str(), 0700) != 0) fail(files, "create");
    for (const auto& rel : copies) copy_file(img, rel, out);
    const std::string text = standalone_manifest(img);
    const fs::path manifest = out / fmt::kManifest;
    util::OwnedFd fd = create(manifest);
    write_at(fd.get(), reinterpret_cast<const uint8_t*>(text.data()), text.size(), 0, manifest);
    if (::fsync(fd.get()) != 0) fail(manifest, "write");
  } catch (...) {
    std::error_code ec;
    fs::remove_all(out, ec);  // no half image left behind
    throw;
  }
}

// Every live process's image verified first (nothing is written for a tree
// that would not restore), then each flattened, then tree.json copied.
fs::path flatten_tree(const fs::path& image, const fs::path& out_given) {
  TreeImage tree = read_tree_manifest(image);
  std::vector<std::pair<std::string, Image>> procs;
  for (const auto& p : tree.procs) {
    if (p.zombie) continue;
    const std::string name = fmt::kProcDirPrefix + std::to_string(p.pid);
    procs.emplace_back(name, verify_image(std::make_shared<ImageFiles>(*tree.files, name), Verify::Full));
  }
  const fs::path out = out_given.empty() ? tree.files->dir().parent_path() / (tree.files->dir().filename().string() + "-full")
                                         : out_given;
  make_out_dir(out);
  try {
    if (::chmod(out.c_str(), 0700) != 0) fail(out, "chmod");
    for (auto& [name, img] : procs) flatten_one(img, out / name);
    Image manifest_only;
    manifest_only.files = tree.files;
    copy_file(manifest_only, fmt::kTreeManifest, out);
    util::OwnedFd dir(::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir || ::fsync(dir.get()) != 0) fail(out, "sync");
  } catch (...) {
    std::error_code ec;
    fs::remove_all(out, ec);
    throw;
  }
  return out;
}

}  // namespace

fs::path flatten_image(const fs::path& image, const fs::path& out_given) {
  if (is_tree_image(image)) return flatten_tree(image, out_given);
  Image img = verify_image(image, Verify::Full);
  const fs::path out = out_given.empty() ? img.dir.parent_path() / (img.name() + "-full") : out_given;
  flatten_one(img, out);
  return out;
}

}  // namespace ckptsim::restart
