// Replacing the child's address space with the image's. The child was stopped
// right after its exec, so all it has is its executable, ld.so, a stack and the
// kernel's [vvar]/[vvar_vclock]/[vdso]. Order matters:
//   1. map a scratch page at an address free in both layouts (code + arguments
//      for the remote syscalls from then on);
//   2. unmap every old mapping except the kernel's special ones;
//   3. move the specials to the image's addresses (via an intermediate range,
//      since old and new places may overlap one another);
//   4. map every image segment at its address: privately from `core` (lazy:
//      nothing is read now), the stack as anonymous + written contents, shared
//      file mappings from the restored file.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "image_files.h"
#include "phases.h"
#include "remote_syscalls.h"

namespace ckptsim::restart {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kScratchSize = 64 * 1024;


// Lowest range of `size` bytes, from 1 GiB up, that intersects nothing in `used`.
uint64_t find_free_range(std::vector<std::pair<uint64_t, uint64_t>> used, uint64_t size) {
  std::sort(used.begin(), used.end());
  uint64_t candidate = 1ULL << 30;
  for (const auto& [s, e] : used) {
    if (e <= candidate) continue;
    if (s >= candidate + size) break;
    candidate = (e + kPage - 1) & ~(kPage - 1);
  }
  if (candidate + size > 0x7ff000000000ULL) throw RestoreError("no free address range for the restore's scratch area");
  return candidate;
}

// The very first remote call runs from the instruction the child stopped at
// (its loader's entry), overwritten with `syscall`; it maps the scratch area,
// which then holds the `syscall` instruction for every later call.
void map_scratch(Tracee& t, uint64_t addr) {
  static const uint8_t kSyscall[] = {0x0f, 0x05};
  const uint64_t entry = t.regs().rip;
  t.write_mem(entry, kSyscall, sizeof kSyscall);
  t.syscall_insn = entry;
  RemoteSyscalls remote(t);
  remote.check("cannot map the restore's scratch area", SYS_mmap, addr, kScratchSize,
               PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1ULL, 0);
  t.write_mem(addr, kSyscall, sizeof kSyscall);
  t.syscall_insn = addr;
  t.scratch = addr;
  t.scratch_size = kScratchSize;
}

bool is_special_name(const std::string& path) {
  return path == "[vdso]" || path == "[vvar]" || path == "[vvar_vclock]" || path == "[vsyscall]";
}

std::string kind_of_special(const std::string& path) { return path.substr(1, path.size() - 2); }

void move_kernel_specials(RemoteSyscalls& remote, const std::vector<MapsLine>& old_maps, const Image& img,
                          uint64_t intermediate) {
  struct Move {
    uint64_t from, size, via, to;
    std::string name;
  };
  std::vector<Move> moves;
  uint64_t via = intermediate;
  for (const auto& m : old_maps) {
    if (!is_special_name(m.path) || m.path == "[vsyscall]") continue;
    const std::string kind = kind_of_special(m.path);
    auto it = std::find_if(img.mappings.begin(), img.mappings.end(), [&](const Mapping& im) { return im.kind == kind; });
    if (it == img.mappings.end()) throw RestoreError("the image has no " + m.path + " but this kernel maps one");
    if (it->size() != m.end - m.start)
      throw RestoreError(m.path + " is " + std::to_string(m.end - m.start) + " bytes here but " +
                         std::to_string(it->size()) + " in the image (another kernel?)");
    moves.push_back({m.start, m.end - m.start, via, it->start, m.path});
    via += m.end - m.start + kPage;
  }
  for (const auto& im : img.mappings)
    if (im.is_kernel_special() &&
        std::none_of(moves.begin(), moves.end(), [&](const Move& mv) { return mv.name == "[" + im.kind + "]"; }))
      throw RestoreError("the image has a [" + im.kind + "] that this kernel does not map");
  for (const auto& mv : moves)
    remote.check("cannot move " + mv.name, SYS_mremap, mv.from, mv.size, mv.size, MREMAP_MAYMOVE | MREMAP_FIXED, mv.via);
  for (const auto& mv : moves)
    remote.check("cannot move " + mv.name + " to " + hex_range(mv.to, mv.to + mv.size), SYS_mremap, mv.via, mv.size,
                 mv.size, MREMAP_MAYMOVE | MREMAP_FIXED, mv.to);
}

// Anonymous memory at the segment's address, filled from the core(s): for the
// stack (it must stay MAP_GROWSDOWN and anonymous), shared anonymous memory,
// a chain's segment cut into too many pieces, and as the fallback when a core
// cannot be mapped (noexec filesystem).
void map_and_fill(RemoteSyscalls& remote, const Image& img, const Mapping& m, int extra_flags) {
  const int flags = (m.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | extra_flags;
  remote.check("cannot place mapping " + describe(m), SYS_mmap, m.start, m.size(), PROT_READ | PROT_WRITE, flags,
               -1ULL, 0);
  if (m.dumped) {
    std::vector<char> buf(std::min<uint64_t>(m.size(), 8 << 20));
    for (const Piece& p : m.pieces) {
      const int core_fd = img.core_fd(p.link);
      for (uint64_t done = 0; done < p.len;) {
        const size_t n = std::min<uint64_t>(buf.size(), p.len - done);
        if (::pread(core_fd, buf.data(), n, static_cast<off_t>(p.core_offset + done)) != static_cast<ssize_t>(n))
          throw RestoreError("cannot read segment " + describe(m) + " from the core");
        remote.tracee().write_mem(m.start + p.offset + done, buf.data(), n);
        done += n;
      }
    }
  }
  remote.check("cannot set permissions of " + describe(m), SYS_mprotect, m.start, m.size(), m.prot());
}

// The file behind the restarter's descriptor `fd`, opened anew in the child:
// through /proc/<restarter>/fd/N, or, in a process tree (whose /proc does not
// show the restarter), through the restarter's fd directory handed over at exec.
long open_restarter_fd(RemoteSyscalls& remote, const FdPlan& plan, int fd, int flags, const std::string& what) {
  if (plan.proc_fds_in_child >= 0)
    return remote.check(what, SYS_openat, plan.proc_fds_in_child, remote.push_str(std::to_string(fd)), flags);
  const std::string path = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(fd);
  return remote.check(what, SYS_openat, AT_FDCWD, remote.push_str(path), flags);
}

// The cores of a chain, open in the child: the image's own was handed over at
// exec (spawn_child); a parent's is opened through our descriptor of it
// (/proc/<restarter>/fd/N: the very file that was verified, not its path).
class ChildCores {
 public:
  ChildCores(RemoteSyscalls& remote, const Image& img, const FdPlan& plan, long own)
      : remote_(remote), img_(img), plan_(plan), fds_(img.ancestors.size() + 1, -1) {
    fds_[0] = own;
  }
  // Once every segment is mapped (after a failure the child is killed anyway).
  void close_all() {
    for (long& fd : fds_)
      if (fd >= 0) remote_.check("close", SYS_close, std::exchange(fd, -1));
  }
  ChildCores(const ChildCores&) = delete;
  ChildCores& operator=(const ChildCores&) = delete;
  long get(size_t link) {
    if (fds_[link] < 0)
      fds_[link] = open_restarter_fd(remote_, plan_, img_.core_fd(link), O_RDONLY | O_CLOEXEC,
                                     "cannot open the core of parent image " + img_.link(link).name());
    return fds_[link];
  }

 private:
  RemoteSyscalls& remote_;
  const Image& img_;
  const FdPlan& plan_;
  std::vector<long> fds_;
};

// More pieces than this and the segment is copied: each piece would be its
// own VMA, and the job has max_map_count of them in all.
constexpr size_t kMaxMappedPieces = 256;

void map_segment(RemoteSyscalls& remote, const Image& img, const Mapping& m, ChildCores& cores, const FdPlan& fds) {
  if (m.kind == "stack") return map_and_fill(remote, img, m, MAP_GROWSDOWN);
  if (m.shared && m.kind == "file" && !m.path.empty()) {
    const int access = m.perms[1] == 'w' ? O_RDWR : O_RDONLY;
    // A deleted file or memfd was recreated in the restarter: the child opens ours.
    auto object = fds.mapped_objects.find(m.path);
    const std::string what = "cannot open " + m.path + " for its shared mapping";
    const long fd = object == fds.mapped_objects.end()
                        ? remote.check(what, SYS_openat, AT_FDCWD, remote.push_str(m.path), access | O_CLOEXEC)
                        : open_restarter_fd(remote, fds, fds.opened[object->second].get(), access | O_CLOEXEC, what);
    const long r = remote.syscall(SYS_mmap, m.start, m.size(), m.prot(), MAP_SHARED | MAP_FIXED_NOREPLACE, fd,
                                  m.file_offset);
    remote.syscall(SYS_close, fd);
    if (r < 0 && r > -4096) throw RestoreError("cannot place mapping " + describe(m) + ": " + std::strerror(-r));
    return;
  }
  if (m.shared) return map_and_fill(remote, img, m, 0);
  if (!m.dumped) {
    remote.check("cannot place mapping " + describe(m), SYS_mmap, m.start, m.size(), m.prot(),
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1ULL, 0);
    return;
  }
  if (m.pieces.size() > kMaxMappedPieces) return map_and_fill(remote, img, m, 0);
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    const Piece& p = m.pieces[i];
    const long r = remote.syscall(SYS_mmap, m.start + p.offset, p.len, m.prot(), MAP_PRIVATE | MAP_FIXED_NOREPLACE,
                                  cores.get(p.link), p.core_offset);
    if (r == -EPERM || r == -EACCES) {  // noexec mount
      if (i) remote.check("cannot unmap " + describe(m), SYS_munmap, m.start, p.offset);
      return map_and_fill(remote, img, m, 0);
    }
    if (r < 0 && r > -4096) throw RestoreError("cannot place mapping " + describe(m) + ": " + std::strerror(-r));
  }
}

}  // namespace

int Mapping::prot() const {
  return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) | (perms[2] == 'x' ? PROT_EXEC : 0);
}

std::string hex_range(uint64_t start, uint64_t end) {
  char b[64];
  std::snprintf(b, sizeof b, "%llx-%llx", static_cast<unsigned long long>(start), static_cast<unsigned long long>(end));
  return b;
}

std::string describe(const Mapping& m) { return hex_range(m.start, m.end) + " (" + (m.path.empty() ? m.kind : m.path) + ")"; }

void restore_memory(Tracee& t, const Image& img, const FdPlan& fds) {
  const std::vector<MapsLine> old_maps = read_proc_maps(t.pid());
  std::vector<std::pair<uint64_t, uint64_t>> used;
  uint64_t specials = 0;
  for (const auto& m : old_maps) {
    used.emplace_back(m.start, m.end);
    if (is_special_name(m.path)) specials += m.end - m.start + kPage;
  }
  for (const auto& m : img.mappings) used.emplace_back(m.start, m.end);
  const uint64_t scratch = find_free_range(used, kScratchSize + kPage + specials);
  map_scratch(t, scratch);

  RemoteSyscalls remote(t);
  // Adjacent old mappings (the executable's, ld.so's) go in one call each run.
  for (size_t i = 0; i < old_maps.size();) {
    if (is_special_name(old_maps[i].path)) {
      ++i;
      continue;
    }
    const uint64_t start = old_maps[i].start;
    uint64_t end = old_maps[i].end;
    for (++i; i < old_maps.size() && !is_special_name(old_maps[i].path) && old_maps[i].start == end; ++i)
      end = old_maps[i].end;
    remote.check("cannot unmap the child's " + hex_range(start, end), SYS_munmap, start, end - start);
  }
  move_kernel_specials(remote, old_maps, img, scratch + kScratchSize + kPage);

  // The child holds the verified core at fds.core_in_child (spawn_child):
  // nothing is reopened by path.
  ChildCores cores(remote, img, fds, fds.core_in_child);
  for (const auto& m : img.mappings) {
    if (m.is_kernel_special() || m.kind == "vsyscall") continue;
    remote.forget_pushed();
    map_segment(remote, img, m, cores, fds);
    // Kept out of the job's forks, as the job asked (a forked dump found it so).
    if (m.dontfork)
      remote.check("cannot mark " + describe(m) + " MADV_DONTFORK", SYS_madvise, m.start, m.size(), MADV_DONTFORK);
  }
  cores.close_all();
  if (fds.proc_fds_in_child >= 0) remote.check("close", SYS_close, fds.proc_fds_in_child);
}

}  // namespace ckptsim::restart
