// A forked dump goes ahead only where its copy-on-write copies have room: a
// job in a memory control group too small for a second copy of its memory is
// dumped in-process (one line says so), and the image is whole; with room, the
// dump is forked.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cerrno>
#include <optional>
#include <sstream>

#include "calib/memory_cgroup.h"
#include "test_helpers.h"

using namespace ckpttest;
using ckptsim::calib::MemoryCgroup;

namespace {

constexpr const char* kNoRoom = "no room for a forked dump";

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Runs ckpt_probe (MB of memory) under `run --fork` inside a fresh group with
// `limit` bytes (or in a group without a limit of its own inside it, `inner`),
// checkpoints it twice and returns libckpt's stderr; "" (and one line) when
// memory groups cannot be made here.
std::string forked_dumps_in_group(uint64_t limit, int mb, bool inner = false) {
  std::optional<MemoryCgroup> group;
  try {
    group.emplace(limit);
  } catch (const ckptsim::calib::CgroupUnavailable& e) {
    std::fprintf(stderr, "skipped: %s\n", e.what());
    return {};
  }
  const fs::path joined = inner ? group->path() / "inner" : group->path();
  // The inner group goes before the outer one (which cannot be removed while
  // it has a child), on every way out: its tasks killed, then it removed.
  struct InnerGroup {
    fs::path path;
    ~InnerGroup() {
      if (path.empty()) return;
      for (int i = 0; i < 500 && ::rmdir(path.c_str()) != 0 && errno == EBUSY; ++i) {
        std::istringstream tasks(read_file(path / "cgroup.procs"));
        for (pid_t p; tasks >> p;) ::kill(p, SIGKILL);
        ::usleep(10000);
      }
    }
  } inner_group;
  if (inner) {
    REQUIRE(::mkdir(joined.c_str(), 0755) == 0);
    inner_group.path = joined;
  }
  std::string err;
  {
    TempDir t;
    const fs::path dir = t.path() / "img", ready = t.path() / "ready";
    RunningJob job(dir, {CKPT_PROBE, "alloc", std::to_string(mb), ready.string()}, t.path() / "out",
                   t.path() / "err", {"--fork"}, (joined / "cgroup.procs").string());
    REQUIRE(job.job_pid > 0);
    REQUIRE(wait_for_file(ready));
    REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
    for (int i = 0; i < 2; ++i) {
      CmdResult r;
      INFO(r.err);
      CHECK(!checkpoint_wait(job.job_pid, &r).empty());
    }
    ::kill(job.job_pid, SIGTERM);
    CHECK(job.wait() == 0);
    CHECK(check_image(dir / "latest").hashes_ok);
    err = read_file(t.path() / "err");
  }
  return err.empty() ? "(nothing on stderr)" : err;
}
bool groups_usable() {
  if (::geteuid() != 0) {
    std::fprintf(stderr, "skipped: the fork room test needs root (it creates memory control groups)\n");
    return false;
  }
  try {
    (void)MemoryCgroup::own_memory_cgroup();
    return true;
  } catch (const ckptsim::calib::CgroupUnavailable& e) {
    std::fprintf(stderr, "skipped: %s\n", e.what());
    return false;
  }
}

}  // namespace

TEST_CASE("run --fork in a memory group without room for the copies dumps in-process, says so, and the image is whole") {
  if (!groups_usable()) return;
  // 160 MiB of memory under a 256 MiB limit: the copies could need 160, under 100 are free.
  const std::string err = forked_dumps_in_group(256ull << 20, 160);
  if (err.empty()) return;
  INFO(err);
  CHECK(count(err, kNoRoom) == 1);  // once for both dumps
  // The limit on a parent binds as much (a Slurm job's group above its task's).
  const std::string nested = forked_dumps_in_group(256ull << 20, 160, true);
  INFO(nested);
  CHECK(count(nested, kNoRoom) == 1);
  // With room (a 1 GiB limit), the same job's dumps are forked.
  const std::string roomy = forked_dumps_in_group(1ull << 30, 160);
  INFO(roomy);
  CHECK(count(roomy, kNoRoom) == 0);
}
