// One restore of a chain at a time: the lock file, what it records, and when
// a recorded holder still counts (restart/restore_lock.h says the design).
//
// The record is one line, rewritten under an flock of the file:
//   restorer=PID:START job=PID:START host=H boot=B pidns=N slurm=J image=PATH
// job=0:0 while the restore runs. A holder counts while its process lives
// with the same start time (a reused pid does not), checked only where its pid
// means something: the same boot and PID namespace. A record from another host
// (a directory shared between nodes) cannot be checked from here, so it
// counts, unless that host has rebooted since (same host name, other boot) or
// it is an earlier run of this same Slurm job (requeued: Slurm ends a job's
// run before it starts the next one).
#include "restart/restore_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "ckpt/image_format.h"
#include "image_files.h"
#include "restart/restart.h"
#include "util/owned_fd.h"

namespace ckptsim::restart {
namespace fs = std::filesystem;
namespace fmt = image_format;

namespace {

constexpr auto kLockWait = std::chrono::seconds(20);  // the flock guards a read and a write only

// pid's start time, if it is alive (a zombie has ended: its job is over).
LockHolder alive(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (pid <= 0 || !std::getline(in, stat)) return {};
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return {};
  std::istringstream fields(stat.substr(paren + 2));  // field 3 (state) on
  std::string field, state;
  fields >> state;
  for (int i = 4; i <= 21 && fields >> field;) ++i;  // fields 4..21
  unsigned long long start = 0;
  if (!(fields >> start) || state == "Z" || state == "X" || state == "x") return {};
  return {pid, start};
}

std::string first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Where a holder's pid can be looked at: this boot of this host, this PID namespace.
struct Place {
  std::string host, boot, pidns, slurm;
};

Place here() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  char ns[64] = {};
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  const char* job = std::getenv("SLURM_JOB_ID");
  auto word = [](std::string s) { return s.empty() || s.find_first_of(" \t\n") != s.npos ? std::string("-") : s; };
  return {word(host), word(first_line("/proc/sys/kernel/random/boot_id")), word(n > 0 ? std::string(ns, n) : ""),
          word(job ? job : "")};
}

struct Record {
  LockHolder restorer, job;
  Place at;
  std::string image;
};

std::string holder_text(const LockHolder& h) { return std::to_string(h.pid) + ":" + std::to_string(h.start); }

std::string to_line(const Record& r) {
  return "restorer=" + holder_text(r.restorer) + " job=" + holder_text(r.job) + " host=" + r.at.host +
         " boot=" + r.at.boot + " pidns=" + r.at.pidns + " slurm=" + r.at.slurm + " image=" + r.image + "\n";
}

// A record as written by to_line; nullopt for an empty or unreadable file (no holder).
std::optional<Record> parse(const std::string& line) {
  Record r;
  std::istringstream in(line);
  const size_t image_at = line.find(" image=");
  if (image_at == std::string::npos) return std::nullopt;
  r.image = line.substr(image_at + 7);
  while (!r.image.empty() && r.image.back() == '\n') r.image.pop_back();
  auto holder = [](const std::string& v, LockHolder& h) {
    return std::sscanf(v.c_str(), "%d:%llu", &h.pid, &h.start) == 2;
  };
  int seen = 0;
  for (std::string word; in >> word && word.rfind("image=", 0) != 0;) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos) return std::nullopt;
    const std::string k = word.substr(0, eq), v = word.substr(eq + 1);
    if (k == "restorer") seen += holder(v, r.restorer);
    else if (k == "job") seen += holder(v, r.job);
    else if (k == "host") r.at.host = v, ++seen;
    else if (k == "boot") r.at.boot = v, ++seen;
    else if (k == "pidns") r.at.pidns = v, ++seen;
    else if (k == "slurm") r.at.slurm = v, ++seen;
  }
  if (seen != 6) return std::nullopt;
  return r;
}

// Why `r` still holds the chain, seen from `me`; empty when it no longer does.
std::string still_held(const Record& r, const Place& me) {
  const std::string from = " (restored from " + r.image + "); one restore of a chain at a time: ";
  if (r.at.boot == me.boot && r.at.pidns == me.pidns) {
    if (r.job.pid > 0)
      return alive(r.job.pid) == r.job
                 ? "is running already as process " + std::to_string(r.job.pid) + from + "--force restores it again"
                 : "";
    return alive(r.restorer.pid) == r.restorer ? "is being restored by process " + std::to_string(r.restorer.pid) +
                                                     from + "--force restores it again"
                                               : "";
  }
  if (r.at.boot != me.boot && r.at.host == me.host) return "";  // this host has rebooted since
  if (r.at.slurm != "-" && r.at.slurm == me.slurm) return "";    // an earlier run of this Slurm job
  const LockHolder& h = r.job.pid > 0 ? r.job : r.restorer;
  const std::string where = r.at.boot == me.boot ? "in another PID namespace" : "on host " + r.at.host;
  return "was restored as process " + std::to_string(h.pid) + " " + where + ", which this host cannot check" + from +
         "if that job has ended, --force restores it";
}

// The lock file's place for a chain directory that is not ours to write in:
// a per-host runtime directory of this user's (0700), keyed by dev and inode;
// empty (errno set) when it cannot be made.
fs::path runtime_lock(const struct stat& chain) {
  std::string dir;
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (::geteuid() == 0) dir = "/run/ckptsim";
  else if (xdg && xdg[0] == '/') dir = std::string(xdg) + "/ckptsim";
  else dir = "/tmp/ckptsim-" + std::to_string(::geteuid());
  struct stat st {};
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return {};
  if (::lstat(dir.c_str(), &st) != 0) return {};
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077))
    throw ImageError("cannot keep the restore lock in " + dir + ": not a directory of this user's, mode 0700");
  return fs::path(dir) / (std::string(fmt::kRestoreLock) + "-" + std::to_string(chain.st_dev) + "-" +
                          std::to_string(chain.st_ino));
}

// Opens (creating) the lock file at `path`: no link followed, a regular file
// owned by us, or by the chain's owner when we are root (root's lock file in
// a user's directory is given to that user, so their own restores share it).
util::OwnedFd open_lock_file(const fs::path& path, const struct stat& chain) {
  const int flags = O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  util::OwnedFd fd(::open(path.c_str(), flags, 0600));
  if (!fd) return fd;
  struct stat st {};
  const uid_t me = ::geteuid();
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_uid != me && !(me == 0 && st.st_uid == chain.st_uid)))
    throw ImageError(path.string() + " is not a regular file of this user's: remove it to restore");
  if (me == 0 && st.st_uid == 0 && chain.st_uid != 0 && path.parent_path() != "/run/ckptsim")
    (void)::fchown(fd.get(), chain.st_uid, chain.st_gid);
  return fd;
}

// The lock file of `image`'s chain, open and flocked, for one read and write.
class LockedFile {
 public:
  // Nothing open (and a warning said so) where no lock can be kept at all.
  explicit LockedFile(const fs::path& image) {
    const fs::path dir = split_image_path(image).dir;
    struct stat chain {};
    if (::stat(dir.c_str(), &chain) != 0) throw ImageError("no image at " + image.string() + " (" + std::strerror(errno) + ")");
    if (!S_ISDIR(chain.st_mode)) throw ImageError("no image at " + image.string() + " (" + dir.string() + " is not a directory)");
    path_ = dir / fmt::kRestoreLock;
    fd_ = open_lock_file(path_, chain);
    if (!fd_ && (errno == ELOOP || errno == EISDIR))
      throw ImageError(path_.string() + " is not a regular file: remove it to restore");
    if (!fd_ && (errno == EACCES || errno == EPERM || errno == EROFS)) {
      const fs::path elsewhere = runtime_lock(chain);
      if (!elsewhere.empty()) fd_ = open_lock_file(path_ = elsewhere, chain);
    }
    if (fd_) lock();
    else warn("cannot open");
  }
  // The file a claim was recorded in, again (nothing open if it is gone).
  struct Again {};
  LockedFile(const std::string& path, Again) : path_(path) {
    fd_ = util::OwnedFd(::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd_) lock();
  }

  bool open() const { return static_cast<bool>(fd_); }
  const fs::path& path() const { return path_; }
  std::optional<Record> read() const {
    std::string text(4096, '\0');
    const ssize_t n = ::pread(fd_.get(), text.data(), text.size(), 0);
    return parse(text.substr(0, n > 0 ? static_cast<size_t>(n) : 0));
  }
  void write(const std::string& line) {
    if (::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), line.data(), line.size(), 0) != static_cast<ssize_t>(line.size()))
      throw RestoreError("cannot write the restore lock " + path_.string() + ": " + std::strerror(errno));
  }

 private:
  void warn(const char* what) {
    std::fprintf(stderr, "ckptsim: warning: %s the restore lock %s (%s): a second restore of this job would not be refused\n",
                 what, path_.c_str(), std::strerror(errno));
    fd_.reset();
  }
  // flock(LOCK_EX), waiting at most kLockWait for another restore's read and write.
  void lock() {
    const auto until = std::chrono::steady_clock::now() + kLockWait;
    while (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) return warn("cannot lock");
      if (std::chrono::steady_clock::now() > until)
        throw RestoreBusy("the restore lock " + path_.string() + " has been held for " +
                          std::to_string(kLockWait.count()) + " s by another restore of this chain");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  fs::path path_;
  util::OwnedFd fd_;
};

// The jobs this process restored and recorded: pid -> (lock file, holder).
std::mutex g_mutex;
std::map<pid_t, std::pair<std::string, LockHolder>> g_jobs;

// Clears the record in `path` if `is_ours` says it is still ours.
template <class Pred>
void clear_if(const std::string& path, Pred is_ours) {
  try {
    LockedFile f(path, LockedFile::Again{});
    const std::optional<Record> r = f.open() ? f.read() : std::nullopt;
    if (r && is_ours(*r)) f.write("");
  } catch (const std::exception&) {  // left as it is: the holder's death frees it on this host
  }
}

}  // namespace

RestoreClaim::RestoreClaim(const fs::path& image, bool force) : exceptions_(std::uncaught_exceptions()) {
  if (force) return;
  LockedFile f(image);
  if (!f.open()) return;
  const Place me = here();
  if (const std::optional<Record> old = f.read()) {
    const std::string why = still_held(*old, me);
    if (!why.empty()) throw RestoreBusy("the job of " + image.string() + " " + why);
  }
  self_ = alive(::getpid());
  std::error_code ec;
  const fs::path named = fs::absolute(image, ec);
  f.write(to_line(Record{self_, {}, me, (ec ? image : named).string()}));
  lock_ = f.path().string();
}

pid_t RestoreClaim::job(pid_t job) {
  if (lock_.empty()) return job;
  handed_to_job_ = true;
  const LockHolder holder = alive(job);
  try {
    LockedFile f(lock_, LockedFile::Again{});
    std::optional<Record> r = f.open() ? f.read() : std::nullopt;
    if (!r || !(r->restorer == self_)) return job;
    if (holder.pid == 0) {  // it has ended already
      f.write("");
      return job;
    }
    r->job = holder;
    f.write(to_line(*r));
  } catch (const std::exception& e) {  // the job runs: said, not undone
    std::fprintf(stderr, "ckptsim: warning: the restore lock was not handed to the job: %s\n", e.what());
    return job;
  }
  const std::lock_guard<std::mutex> hold(g_mutex);
  g_jobs[job] = {lock_, holder};
  return job;
}

RestoreClaim::~RestoreClaim() {
  if (lock_.empty() || handed_to_job_ || std::uncaught_exceptions() <= exceptions_) return;
  clear_if(lock_, [this](const Record& r) { return r.restorer == self_ && r.job.pid == 0; });
}

void restore_ended(pid_t job) {
  std::pair<std::string, LockHolder> entry;
  {
    const std::lock_guard<std::mutex> hold(g_mutex);
    const auto it = g_jobs.find(job);
    if (it == g_jobs.end()) return;
    entry = it->second;
    g_jobs.erase(it);
  }
  const Place me = here();
  clear_if(entry.first, [&](const Record& r) { return r.job == entry.second && r.at.boot == me.boot; });
}

}  // namespace ckptsim::restart
