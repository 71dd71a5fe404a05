// ckpt-matmul, the paper's job: checkpointed at several points, killed,
// restored; restored twice from one image; a chain of 10 checkpoint -> kill ->
// restart cycles; and the "other node" case.
#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

#include "harness.h"

using namespace restart_test;

namespace {

std::string matmul() { return build_path("ckpt-matmul"); }

std::string reference(const TempDir& dir, int n) {
  REQUIRE(run({matmul(), "--n", std::to_string(n), "--out", (dir / "ref.bin").string()}, dir.path(), Redirect{}) == 0);
  return read_file(dir / "ref.bin");
}

// Starts ckpt-matmul under ckptsim run in dir/run, images in dir/img, and
// waits until it has reported `row` rows.
Job start_matmul(const TempDir& dir, int n, int row, const std::string& exe = matmul(),
                 const std::vector<std::string>& run_options = {}) {
  fs::create_directories(dir / "run");
  Redirect io;
  io.err = (dir / "progress.txt").string();
  Job job = start_job(dir / "img", {exe, "--n", std::to_string(n), "--out", "out.bin", "--progress"}, dir / "run", io,
                      run_options);
  const std::string mark = "row " + std::to_string(row) + "/";
  REQUIRE(eventually([&] { return file_contains(dir / "progress.txt", mark); }));
  return job;
}

}  // namespace

TEST_CASE("ckpt-matmul checkpointed at several points, killed and restored, gives the uninterrupted output") {
  const int n = 1000;
  TempDir refdir;
  const std::string expected = reference(refdir, n);
  for (int row : {64, 320, 576}) {
    DYNAMIC_SECTION("checkpoint after row " << row) {
      TempDir dir;
      Job job = start_matmul(dir, n, row);
      REQUIRE(checkpoint_now(job.pid, dir / "img"));
      kill_job(job);
      append_file(dir / "run" / "out.bin", "garbage the killed run wrote after the checkpoint");
      RestartResult r = restart({(dir / "img" / "latest").string()}, dir / "run");
      INFO(r.stderr_text);
      CHECK(r.status == 0);
      CHECK(r.stderr_text.empty());
      CHECK(read_file(dir / "run" / "out.bin") == expected);
    }
  }
}

TEST_CASE("one image restores twice, and stays untouched") {
  const int n = 800;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  Job job = start_matmul(dir, n, 128);
  REQUIRE(checkpoint_now(job.pid, dir / "img"));
  kill_job(job);
  const fs::path image = dir / "img" / "ckpt-0001";
  const auto before = fingerprint(image);
  for (int i = 0; i < 2; ++i) {
    RestartResult r = restart({image.string()}, dir / "run");
    INFO("restore " << i << ": " << r.stderr_text);
    CHECK(r.status == 0);
    CHECK(read_file(dir / "run" / "out.bin") == expected);
  }
  CHECK(fingerprint(image) == before);
}

TEST_CASE("a chain of 10 checkpoint -> kill -> restart cycles ends with the right output") {
  const int n = 2000;  // long enough that ten cycles of a loaded machine fit in its run
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  Job job = checkpoint_kill_restart_chain(dir.path(), dir / "img", start_matmul(dir, n, 64), 10);
  INFO(read_file(dir / "restart-stderr.txt"));
  CHECK(wait_status(job.runner) == 0);
  CHECK(read_file(dir / "run" / "out.bin") == expected);
}

TEST_CASE("another node: the image copied elsewhere, the output file, cwd and executable gone") {
  const int n = 800;
  TempDir refdir, dir, node2;
  const std::string expected = reference(refdir, n);
  fs::create_directories(dir / "bin");
  fs::copy_file(matmul(), dir / "bin" / "ckpt-matmul");
  fs::permissions(dir / "bin" / "ckpt-matmul", fs::perms::owner_all);
  Job job = start_matmul(dir, n, 128, (dir / "bin" / "ckpt-matmul").string());
  REQUIRE(checkpoint_now(job.pid, dir / "img"));
  kill_job(job);
  fs::copy(dir / "img", node2 / "img", fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const fs::path out = dir / "run" / "out.bin";
  fs::remove_all(dir / "run");
  fs::remove_all(dir / "img");
  fs::remove_all(dir / "bin");
  RestartResult r = restart({(node2 / "img" / "latest").string()}, node2.path());
  INFO(r.stderr_text);
  CHECK(r.status == 0);
  CHECK(read_file(out) == expected);
}

TEST_CASE("a forked dump (run --fork): ckpt-matmul checkpointed twice as it runs, killed, restored byte-identical") {
  // The job computes on while each forked writer writes and syncs its image:
  // an order whose run outlasts two of those on a slow disk and a fast CPU.
  const int n = 2000;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  Job job = start_matmul(dir, n, 128, matmul(), {"--fork"});
  REQUIRE(checkpoint(job.pid));
  REQUIRE(checkpoint(job.pid));  // the first writer is reaped, the lock passed on
  kill_job(job);
  append_file(dir / "run" / "out.bin", "garbage the killed run wrote after the checkpoint");
  RestartResult r = restart({(dir / "img" / "latest").string()}, dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 0);
  CHECK(read_file(dir / "run" / "out.bin") == expected);
}

