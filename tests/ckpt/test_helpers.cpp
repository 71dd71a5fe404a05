#include "test_helpers.h"

#include "ckpt/control.h"
#include "shell.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace ckpttest {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

CmdResult run_shell(const std::string& cmdline) {
  TempDir tmp;
  const fs::path out = tmp.path() / "out", err = tmp.path() / "err";
  CmdResult r;
  r.status = ckptsim::test::run_sh(cmdline, out, err);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

bool process_alive(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  // A zombie is not alive.
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

RunningJob::RunningJob(const fs::path& dir, const std::vector<std::string>& argv, const fs::path& out,
                       const fs::path& err, const std::vector<std::string>& run_options,
                       const std::string& join_procs) {
  std::vector<std::string> args = {kCkptsim, "run", "--dir", dir.string()};
  args.insert(args.end(), run_options.begin(), run_options.end());
  args.push_back("--");
  args.insert(args.end(), argv.begin(), argv.end());
  run_pid = ::fork();
  if (run_pid == 0) {
    ::umask(0);  // images must be private whatever the umask
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    if (!join_procs.empty()) {
      const std::string pid = std::to_string(::getpid());
      const int c = ::open(join_procs.c_str(), O_WRONLY);
      if (c < 0 || ::write(c, pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) ::_exit(126);
      ::close(c);
    }
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    ::execv(cargs[0], cargs.data());
    ::_exit(127);
  }
  // The job is the only child of `ckptsim run`.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::string children = "/proc/" + std::to_string(run_pid) + "/task/" + std::to_string(run_pid) + "/children";
  while (std::chrono::steady_clock::now() < deadline) {
    std::istringstream in(read_file(children));
    pid_t child = -1;
    if (in >> child && child > 0) {
      job_pid = child;
      break;
    }
    if (::waitpid(run_pid, nullptr, WNOHANG) == run_pid) {
      run_pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

int RunningJob::wait() {
  if (run_pid <= 0) return -1;
  int st = 0;
  while (::waitpid(run_pid, &st, 0) < 0 && errno == EINTR) {
  }
  run_pid = -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

RunningJob::~RunningJob() {
  if (job_pid > 0 && run_pid > 0) ::kill(job_pid, SIGKILL);
  if (run_pid > 0) {
    ::kill(run_pid, SIGKILL);
    ::waitpid(run_pid, nullptr, 0);
  }
}

bool wait_until_catching(pid_t pid, int sig, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ckptsim::ckpt::catches_signal(pid, sig)) return true;
    if (!process_alive(pid)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

bool wait_for_file(const fs::path& p, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(p)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::string checkpoint_wait(pid_t pid, CmdResult* result) {
  CmdResult r = run_shell(kCkptsim + " checkpoint " + std::to_string(pid) + " --wait --timeout 600");
  if (result) *result = r;
  if (r.status != 0) return "";
  std::string path = r.out;
  while (!path.empty() && path.back() == '\n') path.pop_back();
  return path;
}

uint64_t xxh3_file(const fs::path& p) {
  const std::string data = read_file(p);
  return XXH3_64bits(data.data(), data.size());
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::vector<std::string> image_names(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("ckpt-", 0) == 0) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool wait_for_writers(const fs::path& dir, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return true;  // no directory, no writer
  bool free = false;
  while (!(free = ::flock(fd, LOCK_SH | LOCK_NB) == 0) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::close(fd);
  return free;
}

bool wait_for_images(const fs::path& dir, size_t count, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    size_t complete = 0;
    std::error_code ec;  // the directory may not exist yet
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (ckptsim::ckpt::image_number(e.path().filename().string()) != 0) ++complete;
    if (complete >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

namespace {

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

}  // namespace

namespace {

// Images hold process memory: the directories 0700, every file 0600.
void check_private(const fs::path& image) {
  CHECK(mode_of(image) == 0700);
  CHECK(mode_of(image / "files") == 0700);
  for (const auto& e : fs::recursive_directory_iterator(image))
    if (e.is_regular_file()) {
      INFO(e.path().string());
      CHECK(mode_of(e.path()) == 0600);
    }
}

// The core through libelf: a note segment (its note types into rep), then
// one PT_LOAD per mapping of the manifest, each segment's bytes and the
// header's matching their checksums (false if one does not).
bool check_core(const fs::path& image, const std::string& core_bytes, ImageReport& rep) {
  const auto& m = rep.manifest;
  bool ok = true;
  elf_version(EV_CURRENT);
  int fd = ::open((image / "core").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  REQUIRE(elf != nullptr);
  GElf_Ehdr eh;
  REQUIRE(gelf_getehdr(elf, &eh) != nullptr);
  CHECK(eh.e_type == ET_CORE);
  CHECK(eh.e_machine == EM_X86_64);
  size_t phnum = 0;
  REQUIRE(elf_getphdrnum(elf, &phnum) == 0);
  const auto& maps = m.at("mappings");
  uint64_t first_load = ~0ull;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    REQUIRE(gelf_getphdr(elf, int(i), &ph) != nullptr);
    if (i == 0) {
      CHECK(ph.p_type == PT_NOTE);
      for (size_t off = 0; off + sizeof(Elf64_Nhdr) <= ph.p_filesz;) {
        Elf64_Nhdr nh;
        std::memcpy(&nh, core_bytes.data() + ph.p_offset + off, sizeof nh);
        rep.note_types.push_back(nh.n_type);
        off += sizeof nh + ((nh.n_namesz + 3) & ~3u) + ((nh.n_descsz + 3) & ~3u);
      }
      continue;
    }
    CHECK(ph.p_type == PT_LOAD);
    ++rep.load_segments;
    first_load = std::min<uint64_t>(first_load, ph.p_offset);
    CHECK(ph.p_offset % 4096 == 0);
    const auto& mp = maps.at(i - 1);
    CHECK(mp.at("phdr").get<size_t>() == i);
    CHECK(mp.at("start").get<uint64_t>() == ph.p_vaddr);
    CHECK(mp.at("end").get<uint64_t>() - mp.at("start").get<uint64_t>() == ph.p_memsz);
    CHECK(ph.p_filesz == (mp.at("dumped").get<bool>() ? ph.p_memsz : 0));
    const bool inside = ph.p_offset + ph.p_filesz <= core_bytes.size();
    if (!inside || hex16(XXH3_64bits(core_bytes.data() + ph.p_offset, ph.p_filesz)) != mp.at("xxh3").get<std::string>()) {
      UNSCOPED_INFO("segment hash differs: " << mp.dump());
      ok = false;
    }
  }
  elf_end(elf);
  ::close(fd);
  CHECK(rep.load_segments == maps.size());
  if (first_load != ~0ull && first_load <= core_bytes.size() &&
      hex16(XXH3_64bits(core_bytes.data(), first_load)) != m.at("core").at("header_xxh3").get<std::string>()) {
    UNSCOPED_INFO("core header hash differs");
    ok = false;
  }
  return ok;
}

// The file copies and the executable against their checksums.
bool check_copies(const fs::path& image, const nlohmann::json& m) {
  bool ok = true;
  for (const auto& f : m.at("fds"))
    if (f.at("kind") == "regular") {
      const fs::path copy = image / f.at("copy").get<std::string>();
      CHECK(fs::file_size(copy) == f.at("size").get<uint64_t>());
      if (hex16(xxh3_file(copy)) != f.at("xxh3").get<std::string>()) {
        UNSCOPED_INFO("fd copy hash differs: " << f.dump());
        ok = false;
      }
    }
  for (const auto& sf : m.at("shared_files")) {
    const fs::path copy = image / sf.at("copy").get<std::string>();
    if (hex16(xxh3_file(copy)) != sf.at("xxh3").get<std::string>()) ok = false;
  }
  CHECK(hex16(xxh3_file(image / "exe")) == m.at("exe_copy").at("xxh3").get<std::string>());
  CHECK(m.at("program").at("exe_xxh3") == m.at("exe_copy").at("xxh3"));
  return ok;
}

}  // namespace

ImageReport check_image(const fs::path& image) {
  ImageReport rep;
  INFO("image " << image.string());
  REQUIRE(fs::is_directory(image));
  check_private(image);
  rep.manifest = nlohmann::json::parse(read_file(image / "manifest.json"));
  const auto& m = rep.manifest;
  CHECK(m.at("format") == "ckptsim-image");
  CHECK(m.at("format_version") == 2);
  const std::string core_bytes = read_file(image / "core");
  CHECK(m.at("core").at("size").get<uint64_t>() == core_bytes.size());
  const bool core_ok = check_core(image, core_bytes, rep);
  const bool copies_ok = check_copies(image, m);
  rep.hashes_ok = core_ok && copies_ok;
  CHECK(rep.hashes_ok);
  return rep;
}

const nlohmann::json* TreeReport::process(pid_t pid) const {
  for (const auto& p : tree.at("processes"))
    if (p.at("pid") == pid) return &p;
  return nullptr;
}

TreeReport check_tree_image(const fs::path& image) {
  TreeReport rep;
  INFO("tree image " << image.string());
  REQUIRE(fs::is_regular_file(image / "tree.json"));
  CHECK(mode_of(image) == 0700);
  CHECK(mode_of(image / "tree.json") == 0600);
  const std::string text = read_file(image / "tree.json");
  const std::string key = ",\"manifest_xxh3\":\"";
  const size_t at = text.rfind(key);
  REQUIRE(at != std::string::npos);
  CHECK(text.substr(at + key.size(), 16) == hex16(XXH3_64bits(text.data(), at)));
  rep.tree = nlohmann::json::parse(text);
  CHECK(rep.tree.at("format") == "ckptsim-tree");
  CHECK(rep.tree.at("format_version") == 1);
  const auto& procs = rep.tree.at("processes");
  REQUIRE(!procs.empty());
  CHECK(procs[0].at("pid") == rep.tree.at("root"));
  std::vector<std::string> dirs;
  for (size_t i = 0; i < procs.size(); ++i) {
    const auto& p = procs[i];
    bool parent_before = i == 0;  // tree order: a parent comes before its children
    for (size_t j = 0; j < i; ++j) parent_before |= procs[j].at("pid") == p.at("ppid");
    CHECK(parent_before);
    if (p.at("state") == "zombie") {
      CHECK(p.contains("exit_status"));
      CHECK(!p.contains("image"));
      continue;
    }
    CHECK(p.at("state") == "live");
    const std::string dir = p.at("image");
    CHECK(dir == "proc-" + std::to_string(p.at("pid").get<long>()));
    dirs.push_back(dir);
    rep.images.push_back(check_image(image / dir));
    CHECK(rep.images.back().manifest.at("pid") == p.at("pid"));
    CHECK(rep.images.back().manifest.at("seq") == rep.tree.at("seq"));
  }
  dirs.push_back("tree.json");
  for (const auto& e : fs::directory_iterator(image)) {  // nothing else at the top
    INFO(e.path().string());
    CHECK(std::find(dirs.begin(), dirs.end(), e.path().filename().string()) != dirs.end());
  }
  return rep;
}

bool no_image(const fs::path& img) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(img, ec)) {
    const std::string n = e.path().filename();
    if (n.rfind("ckpt-", 0) == 0 || n.rfind(".tmp-", 0) == 0 || n == "latest") return false;
  }
  return true;
}

}  // namespace ckpttest
