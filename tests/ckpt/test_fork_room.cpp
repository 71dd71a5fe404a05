// A forked dump goes ahead only where its copy-on-write copies have room: a
// job in a memory control group too small for a second copy of its memory is
// dumped in-process (one line says so), and the image is whole; with room, the
// dump is forked.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "calib/memory_cgroup.h"
#include "test_helpers.h"

using namespace ckpttest;
using ckptsim::calib::MemoryCgroup;

namespace {

constexpr const char* kNoRoom = "no room for a forked dump";

// Runs ckpt_probe (MB of memory) under `run --fork` inside a fresh group with
// `limit` bytes, checkpoints it once and returns libckpt's stderr.
std::string forked_dump_in_group(uint64_t limit, int mb) {
  MemoryCgroup group(limit);
  TempDir t;
  const fs::path dir = t.path() / "img", ready = t.path() / "ready";
  RunningJob job(dir, {CKPT_PROBE, "alloc", std::to_string(mb), ready.string()}, t.path() / "out", t.path() / "err",
                 {"--fork"}, group.procs_file());
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  CmdResult r;
  const std::string image = checkpoint_wait(job.job_pid, &r);
  INFO(r.err);
  CHECK(!image.empty());
  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
  CHECK(check_image(dir / "latest").hashes_ok);
  return read_file(t.path() / "err");
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
  const std::string err = forked_dump_in_group(256ull << 20, 160);
  INFO(err);
  CHECK(err.find(kNoRoom) != std::string::npos);
  // With room (a 1 GiB limit), the same job's dump is forked.
  const std::string roomy = forked_dump_in_group(1ull << 30, 160);
  INFO(roomy);
  CHECK(roomy.find(kNoRoom) == std::string::npos);
}
