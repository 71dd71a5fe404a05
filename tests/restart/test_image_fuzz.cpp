// A fuzz of images: 500 random mutations of manifests and core headers, each
// refused, failing cleanly or restoring, never crashing or hanging restart.
#include <catch2/catch.hpp>

#include <elf.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "image_fixture.h"

using namespace restart_test;
using nlohmann::json;

namespace {

// The core's header checksum after a change to its first bytes (as in
// test_threads.cpp), so a mutation reaches the ELF parser.
void rehash_core_header(const fs::path& image, json& m) {
  const std::string core = read_file(image / "core");
  if (core.size() < sizeof(Elf64_Ehdr)) return;
  uint64_t first = core.size();
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(core.data());
  for (size_t i = 0; i < eh->e_phnum && eh->e_phoff + (i + 1) * sizeof(Elf64_Phdr) <= core.size(); ++i) {
    const auto* ph = reinterpret_cast<const Elf64_Phdr*>(core.data() + eh->e_phoff + i * sizeof(Elf64_Phdr));
    if (ph->p_type == PT_LOAD && ph->p_filesz && ph->p_offset < first) first = ph->p_offset;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(core.data(), first)));
  m["core"]["header_xxh3"] = hex;
}

// One random change to a leaf of the manifest.
void mutate_manifest(json& m, std::mt19937_64& rng) {
  std::vector<json*> leaves;
  std::function<void(json&)> walk = [&](json& j) {
    if (j.is_object() || j.is_array()) {
      for (auto& v : j) walk(v);
    } else {
      leaves.push_back(&j);
    }
  };
  walk(m);
  json& leaf = *leaves[rng() % leaves.size()];
  switch (rng() % 9) {
    case 0: leaf = rng(); break;
    case 1: leaf = -static_cast<int64_t>(rng() % 1000) - 1; break;
    case 2: leaf = 1e300; break;
    case 3: leaf = "../../../etc/passwd"; break;
    case 4: leaf = ""; break;
    case 5: leaf = nullptr; break;
    case 6: leaf = json::array(); break;
    case 7: leaf = leaf.is_number_unsigned() ? json(leaf.get<uint64_t>() + 1 + rng() % 4096) : json(true); break;
    default: leaf = "relative/path"; break;
  }
}

constexpr int kJobHung = -2;

// `ckptsim restart --verify quick IMAGE`; a restored job still running after
// `limit` is killed (with its restarter) and reported as kJobHung. The
// restarter's own verdicts come long before: it has nothing to wait for.
RestartResult restart_with_deadline(const Fixture& fx, std::chrono::seconds limit) {
  const fs::path err = fx.dir / "fuzz-stderr.txt", pid_file = fx.dir / "fuzz-pid";
  fs::remove(pid_file);
  fs::remove(err);
  Redirect io;
  io.err = err.string();
  const pid_t restarter = spawn({ckptsim_exe(), "restart", fx.image.string(), "--verify", "quick", "--pid-file",
                                 pid_file.string()},
                                fx.dir / "run", io);
  RestartResult r;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int st = 0;
    const pid_t done = ::waitpid(restarter, &st, WNOHANG);
    if (done == restarter) {
      r.status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      const std::string pid = read_file(pid_file);
      if (!pid.empty()) ::kill(std::stoi(pid), SIGKILL);
      ::kill(restarter, SIGKILL);
      wait_status(restarter);
      r.status = kJobHung;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.stderr_text = read_file(err);
  return r;
}

}  // namespace

TEST_CASE("trust: 500 random mutations of manifests and core headers are refused or fail cleanly or restore and never crash or hang") {
  Fixture fx;
  const std::string manifest0 = read_file(fx.image / "manifest.json");
  const std::string core0 = read_file(fx.image / "core");
  const std::string expected_lines = [&] {
    // What a good restore leaves: the lines of an uninterrupted run.
    RestartResult r = restart({fx.image.string()}, fx.dir / "run");
    REQUIRE(r.status == 0);
    return read_file(fx.dir / "run" / "lines.txt");
  }();
  std::mt19937_64 rng(20261130);
  int refused = 0, failed_cleanly = 0, restored = 0, job_died = 0, job_hung = 0, wrong = 0;
  for (int i = 0; i < 500; ++i) {
    json m = json::parse(manifest0);
    m.erase("manifest_xxh3");
    std::string core = core0;
    if (i % 3 == 2) {  // a byte of the ELF header, program headers or notes
      const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(core0.data());
      const size_t header_end = eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) + 4096;
      core[rng() % std::min(header_end, core.size())] ^= static_cast<char>(1 + rng() % 255);
      write_file(fx.image / "core", core);
      rehash_core_header(fx.image, m);
    } else {
      mutate_manifest(m, rng);
      write_file(fx.image / "core", core0);
    }
    write_signed_manifest(fx.image, m.dump());
    append_file(fx.dir / "run" / "lines.txt", kKilledRunMark);
    RestartResult r = restart_with_deadline(fx, std::chrono::seconds(20));
    INFO("mutation " << i << ": status " << r.status << ", " << r.stderr_text);
    const long lines = std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n');
    if (r.status == kJobHung) {
      ++job_hung;  // restored, but the mutated state sent the job astray (it was killed)
    } else if (r.status == 2) {
      ++refused;
      CHECK(lines == 1);
    } else if (r.status == 3) {
      ++failed_cleanly;
      CHECK(lines == 1);
    } else if (r.status == 0) {
      ++restored;
      if (read_file(fx.dir / "run" / "lines.txt") != expected_lines) ++wrong;
    } else {
      // The job ran and died: a mutated register-like value (a checksum is
      // not a signature: whoever owns an image owns its process's behaviour).
      ++job_died;
      CHECK(r.stderr_text.find("restart:") == std::string::npos);
    }
    CHECK(processes_running(fx.exe.string()).empty());
  }
  // "Other output": a mutation the restarter cannot tell from the owner's
  // intent (an fd offset, an argument): the manifest checksum catches such a
  // change unless whoever made it re-signed it, as this test does.
  WARN("500 mutations: " << refused << " refused, " << failed_cleanly << " failed cleanly, " << restored
                         << " restored (" << wrong << " with other output), " << job_died << " ran and died, "
                         << job_hung << " ran astray and were killed after 20 s");
  CHECK(refused + failed_cleanly + restored + job_died + job_hung == 500);
  CHECK(refused > 250);
}
