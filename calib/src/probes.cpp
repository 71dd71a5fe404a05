#include "calib/probes.h"

#include <fcntl.h>
#include <gnu/libc-version.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "util/owned_fd.h"
#include "util/scratch_dir.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

namespace {
// "Key:   123 kB" from a /proc file of that shape; 0 if absent.
uint64_t proc_kv(const std::string& file, const std::string& key, bool kb) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream ls(line.substr(key.size()));
    uint64_t v = 0;
    ls >> v;
    return kb ? v * 1024 : v;
  }
  return 0;
}
}  // namespace

ProcessSize process_size(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream maps(base + "/maps");
  if (!maps) throw std::runtime_error("process " + std::to_string(pid) + " is gone");
  ProcessSize s;
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &lo, &hi) == 2 && hi > lo) s.mapped_bytes += hi - lo;
  }
  s.rss_bytes = proc_kv(base + "/status", "VmRSS:", true);
  return s;
}

ProcessStat process_stat(pid_t pid) {
  ProcessStat st;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all;
  if (!std::getline(in, all)) return st;
  // comm may contain spaces and parentheses: fields start after the last ')'.
  auto close = all.rfind(')');
  if (close == std::string::npos) return st;
  std::istringstream ls(all.substr(close + 2));
  std::vector<std::string> f;
  std::string x;
  while (ls >> x) f.push_back(x);
  if (f.size() < 13) return st;
  st.state = f[0][0];  // field 3
  st.cpu_ticks = std::stoull(f[11]) + std::stoull(f[12]);  // fields 14, 15
  return st;
}

uint64_t mem_available_bytes() { return proc_kv("/proc/meminfo", "MemAvailable:", true); }
uint64_t mem_total_bytes() { return proc_kv("/proc/meminfo", "MemTotal:", true); }
uint64_t swap_out_pages() { return proc_kv("/proc/vmstat", "pswpout ", false); }

DirSize dir_size(const fs::path& dir) {
  DirSize d;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    d.apparent_bytes += static_cast<uint64_t>(st.st_size);
    d.disk_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    ++d.files;
  }
  return d;
}

std::string fs_type(const fs::path& p) {
  struct statfs s {};
  if (statfs(p.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext2/ext3/ext4";
    case 0x01021994: return "tmpfs";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794C7630: return "overlayfs";
    case 0x6969: return "nfs";
    case 0x65735546: return "fuse";
    case 0x2FC12FC1: return "zfs";
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(s.f_type));
      return buf;
    }
  }
}

nlohmann::json describe_machine(const fs::path& work_dir) {
  nlohmann::json m;
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model = "unknown";
  while (std::getline(cpu, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  struct utsname u {};
  uname(&u);
  m["cpu"] = model;
  m["cores"] = std::thread::hardware_concurrency();
  m["mem_bytes"] = mem_total_bytes();
  m["kernel"] = u.release;
  m["arch"] = u.machine;
  m["hostname"] = u.nodename;
  m["glibc"] = gnu_get_libc_version();
  m["image_fs"] = fs_type(work_dir);
  m["image_dir"] = fs::absolute(work_dir).string();
  m["swap_bytes"] = proc_kv("/proc/meminfo", "SwapTotal:", true);
  return m;
}

namespace {

std::vector<char> probe_pattern() {
  std::vector<char> buf(4 << 20);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<char>(i * 2654435761u >> 13);
  return buf;
}

// Writes `bytes` of `buf` to a new `file` and fsyncs it, then drops its pages.
void write_probe(const fs::path& file, uint64_t bytes, const std::vector<char>& buf) {
  util::OwnedFd fd(open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw std::runtime_error("cannot write " + file.string() + ": " + std::strerror(errno));
  for (uint64_t done = 0; done < bytes; done += buf.size())
    if (write(fd.get(), buf.data(), buf.size()) != static_cast<ssize_t>(buf.size()))
      throw std::runtime_error("writing " + file.string() + ": " + std::strerror(errno));
  if (fsync(fd.get()) != 0) throw std::runtime_error("syncing " + file.string() + ": " + std::strerror(errno));
  posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
}

uint64_t read_probe(const fs::path& file, std::vector<char>& buf) {
  util::OwnedFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw std::runtime_error("cannot read " + file.string() + ": " + std::strerror(errno));
  uint64_t got = 0;
  for (ssize_t n; (n = read(fd.get(), buf.data(), buf.size())) > 0;) got += static_cast<uint64_t>(n);
  return got;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs fn(i) for i in [0, n) on n threads at once; the first error is rethrown.
template <class Fn>
void all_at_once(int n, Fn fn) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      try {
        fn(i);
      } catch (...) {
        errors[static_cast<size_t>(i)] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

DiskRates probe_disk(const fs::path& dir, uint64_t bytes) {
  const fs::path file = dir / ".disk-probe";
  DiskRates r;
  std::vector<char> buf = probe_pattern();
  auto t0 = std::chrono::steady_clock::now();
  write_probe(file, bytes, buf);
  r.write_Bps = static_cast<double>(bytes) / seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  r.read_Bps = static_cast<double>(read_probe(file, buf)) / seconds_since(t0);
  fs::remove(file);
  return r;
}

SharedRates probe_shared_dir(const fs::path& dir, uint64_t bytes, int writers) {
  SharedRates r;
  const uint64_t chunk = 4 << 20;
  const uint64_t each = std::max<uint64_t>(chunk, bytes / static_cast<uint64_t>(writers) / chunk * chunk);
  util::ScratchDir scratch = util::ScratchDir::create((dir / ".shared-probe-XXXXXX").string());
  if (!scratch) throw std::runtime_error("cannot write in " + dir.string() + ": " + std::strerror(errno));
  auto file = [&](int i) { return scratch / ("w" + std::to_string(i)); };
  const std::vector<char> pattern = probe_pattern();
  auto t0 = std::chrono::steady_clock::now();
  write_probe(file(0), each, pattern);
  r.client_write_Bps = static_cast<double>(each) / seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  all_at_once(writers, [&](int i) { write_probe(file(i), each, pattern); });
  r.write_Bps = static_cast<double>(each * static_cast<uint64_t>(writers)) / seconds_since(t0);
  std::atomic<uint64_t> got{0};
  t0 = std::chrono::steady_clock::now();
  all_at_once(writers, [&](int i) {
    std::vector<char> buf(chunk);
    got += read_probe(file(i), buf);
  });
  r.read_Bps = static_cast<double>(got.load()) / seconds_since(t0);
  return r;
}

bool files_equal(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec1, ec2;
  if (std::filesystem::file_size(a, ec1) != std::filesystem::file_size(b, ec2) || ec1 || ec2) return false;
  std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
  std::vector<char> ba(1 << 20), bb(1 << 20);
  while (fa && fb) {
    fa.read(ba.data(), static_cast<std::streamsize>(ba.size()));
    fb.read(bb.data(), static_cast<std::streamsize>(bb.size()));
    if (fa.gcount() != fb.gcount() || !std::equal(ba.begin(), ba.begin() + fa.gcount(), bb.begin())) return false;
  }
  return true;
}

}  // namespace ckptsim::calib
