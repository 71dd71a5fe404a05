// Dirty pages from the kernel (CKPT_DIRTY, `run --dirty`): prog_dirty writes
// known pages between its own incremental checkpoints (stores, a read(2) into
// a page, a page dropped with MADV_DONTNEED). With the kernel's tracking each
// incremental image holds exactly those pages of its buffer, as with
// checksums; every image of both chains restores to the same memory.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness.h"

using namespace restart_test;
using nlohmann::json;

namespace {

constexpr int kCheckpoints = 5;


std::set<uint64_t> numbers(const std::string& text) {
  std::set<uint64_t> out;
  std::istringstream in(text);
  for (uint64_t v; in >> v;) out.insert(v);
  return out;
}

// The pages of [start, end) an image's core holds (its mapping's delta runs).
std::set<uint64_t> held_pages(const fs::path& image, uint64_t start, uint64_t end) {
  const json m = json::parse(read_file(image / "manifest.json"));
  for (const auto& map : m.at("mappings")) {
    const uint64_t s = map.at("start"), e = map.at("end");
    if (start < s || start >= e) continue;
    REQUIRE(map.contains("delta"));
    std::set<uint64_t> out;
    for (const auto& r : map.at("delta"))
      for (uint64_t p = r[0].get<uint64_t>(); p < r[0].get<uint64_t>() + r[1].get<uint64_t>(); ++p) {
        const uint64_t addr = s + p * 4096;
        if (addr >= start && addr < end) out.insert((addr - start) / 4096);
      }
    return out;
  }
  FAIL("no mapping holds the buffer in " << image);
  return {};
}

// prog_dirty under `run --incremental --dirty MODE`, to its end; then each
// image's buffer pages checked and each image restored. The sums it wrote.
// `option`: prog_dirty's fourth argument ("no-uffd", "fork"), if any.
std::vector<std::string> chain_of(const std::string& mode, const std::string& method, const std::string& option = "",
                                  std::string* job_stderr = nullptr) {
  TempDir dir;
  fs::create_directories(dir / "run");
  Redirect io;
  io.err = (dir / "job-stderr.txt").string();
  std::vector<std::string> argv{prog("prog_dirty"), dir.path().string(), "32", std::to_string(kCheckpoints)};
  if (!option.empty()) argv.push_back(option);
  // In-process: the job checkpoints itself and the test reads each image as
  // soon as the job has gone on, which a forked dump completes only later.
  Job job = start_job(dir / "img", argv, dir / "run", io,
                      {"--no-fork", "--incremental", "--keep", "100", "--dirty", mode});
  const fs::path last_sum = dir / ("sum-" + std::to_string(kCheckpoints));
  REQUIRE(eventually([&] { return fs::exists(last_sum) && file_contains(last_sum, "\n"); }));
  kill_job(job);
  if (job_stderr) *job_stderr = read_file(dir / "job-stderr.txt");
  INFO(mode << ": " << read_file(dir / "job-stderr.txt"));
  // Which way ran, from the library's status line.
  CHECK(file_contains(dir / "img" / ".ckpt-status", "ok " + std::to_string(kCheckpoints) + " " +
                                                         image_name(kCheckpoints) + " dirty: " + method + "\n"));
  const std::set<uint64_t> layout = numbers(read_file(dir / "layout"));
  REQUIRE(layout.size() == 2);
  const uint64_t start = *layout.begin(), end = *layout.rbegin();
  for (int k = 2; k <= kCheckpoints; ++k) {
    INFO(image_name(k));
    CHECK(held_pages(dir / "img" / image_name(k), start, end) ==
          numbers(read_file(dir / ("changed-" + std::to_string(k)))));
  }
  std::vector<std::string> sums;
  for (int k = 1; k <= kCheckpoints; ++k) {
    INFO("restored from " << image_name(k));
    RestartResult r = restart({(dir / "img" / image_name(k)).string()}, dir / "run");
    INFO(r.stderr_text);
    CHECK(r.status == 0);
    const std::string sum = read_file(dir / ("sum-" + std::to_string(k)));
    CHECK(read_file(dir / ("sum-restored-" + std::to_string(k))) == sum);
    sums.push_back(sum);
  }
  return sums;
}

}  // namespace

TEST_CASE("dirty tracking: kernel and checksum chains hold exactly the changed pages and restore the same") {
  const std::vector<std::string> kernel = chain_of("kernel", "kernel");
  const std::vector<std::string> checksum = chain_of("checksum", "checksums");
  CHECK(kernel == checksum);
}

// Tracking unavailable (userfaultfd denied, as without the kernel's support):
// auto falls back to checksums by itself, silently; kernel says so, once.
TEST_CASE("dirty tracking: without userfaultfd, auto and kernel fall back to checksums with the same images") {
  std::string said_auto, said_kernel;
  const std::vector<std::string> fallback = chain_of("auto", "checksums", "no-uffd", &said_auto);
  CHECK(said_auto.find("userfaultfd") == std::string::npos);
  CHECK(chain_of("kernel", "checksums", "no-uffd", &said_kernel) == fallback);
  const std::string line = "ckpt: CKPT_DIRTY=kernel: userfaultfd failed (errno 1): changed pages found by checksums\n";
  INFO(said_kernel);
  CHECK(said_kernel.find(line) != std::string::npos);
  CHECK(said_kernel.find(line) == said_kernel.rfind(line));
  CHECK(chain_of("auto", "kernel") == fallback);  // the same memory, tracked by the kernel
}

// Children forked between kernel-tracked dumps (by fork(3) and by the raw
// system call, which runs no atfork handler): the library's userfaultfd has no
// UFFD_FEATURE_EVENT_FORK, so a child's copy of the memory is not registered
// and it writes it freely; the fork(3) child does not hold the fd. The
// parent's images still hold exactly its own changes, from the kernel.
TEST_CASE("dirty tracking: children forked between kernel-tracked dumps write freely; the parent's images are unchanged") {
  CHECK(chain_of("kernel", "kernel", "fork") == chain_of("checksum", "checksums", "fork"));
}

// A restored process has its memory back but none of the kernel's
// registrations (and only the number of the library's old fd): its next dumps
// must not trust the kernel for the parent it was restored from. Every image
// of the chain it goes on writing restores to the right output.
TEST_CASE("dirty tracking: a job restored from a kernel-tracked chain goes on with correct images") {
  const int n = 1000;
  TempDir refdir, dir;
  const std::string matmul = build_path("ckpt-matmul");
  REQUIRE(run({matmul, "--n", std::to_string(n), "--out", (refdir / "ref.bin").string()}, refdir.path(), Redirect{}) == 0);
  const std::string expected = read_file(refdir / "ref.bin");
  fs::create_directories(dir / "run");
  Redirect io;
  io.err = (dir / "progress.txt").string();
  Job job = start_job(dir / "img", {matmul, "--n", std::to_string(n), "--out", "out.bin", "--progress"}, dir / "run",
                      io, {"--incremental", "--dirty", "kernel", "--keep", "100"});
  REQUIRE(eventually([&] { return file_contains(dir / "progress.txt", "row 64/"); }));
  job = checkpoint_kill_restart_chain(dir.path(), dir / "img", job, 1);  // ckpt-0001, then restored from it
  REQUIRE(pause_job(job.pid));
  for (int i = 0; i < 4; ++i) REQUIRE(checkpoint_paused(job.pid, dir / "img"));
  kill_job(job);
  INFO(read_file(dir / "restart-stderr.txt"));
  for (int k = 2; k <= 5; ++k) {
    const json m = json::parse(read_file(dir / "img" / image_name(k) / "manifest.json"));
    INFO(image_name(k));
    CHECK(m.at("parent").at("image") == image_name(k - 1));
    append_file(dir / "run" / "out.bin", "garbage the killed run wrote after the checkpoint");
    RestartResult r = restart({(dir / "img" / image_name(k)).string()}, dir / "run");
    INFO(r.stderr_text);
    CHECK(r.status == 0);
    CHECK(read_file(dir / "run" / "out.bin") == expected);
  }
}

// The kernel rewrites a thread's rseq area (cpu_id, mm_cid) whenever the
// thread is scheduled: while its own dump runs (it sleeps on the core writer
// and may wake on another CPU), and in a forked writer, whose area is its
// own. Its page was hashed at one moment and copied at another, so an image
// could record a checksum that is not the one of the bytes it holds, and the
// next image took its own equal page for the parent's: the chain then did
// not match its segment's checksum (seen under load on the 256 KiB
// sigaltstack's neighbour, the main thread's TCB). That page is now written
// whole in every image, as the handler's stack is. Pinned to one CPU the
// job's cpu_id never changes, so without that the page is never rewritten.
TEST_CASE("dirty tracking: the page of the thread's rseq area is in every incremental image and restores") {
  for (const std::string mode : {"checksum", "kernel"}) {
    INFO("--dirty " << mode);
    TempDir dir;
    fs::create_directories(dir / "run");
    Redirect io;
    io.err = (dir / "job-stderr.txt").string();
    constexpr int kImages = 3;
    Job job = start_job(dir / "img", {"/usr/bin/taskset", "-c", "0", prog("prog_dirty"), dir.path().string(), "4",
                                      std::to_string(kImages)},
                        dir / "run", io, {"--no-fork", "--incremental", "--keep", "100", "--dirty", mode});
    const fs::path last_sum = dir / ("sum-" + std::to_string(kImages));
    REQUIRE(eventually([&] { return fs::exists(last_sum) && file_contains(last_sum, "\n"); }));
    kill_job(job);
    INFO(read_file(dir / "job-stderr.txt"));
    for (int k = 2; k <= kImages; ++k) {
      INFO(image_name(k));
      const json m = json::parse(read_file(dir / "img" / image_name(k) / "manifest.json"));
      REQUIRE(m.at("threads").at(0).contains("rseq"));
      const uint64_t area = m.at("threads").at(0).at("rseq").at("area");
      const std::set<uint64_t> held = held_pages(dir / "img" / image_name(k), area & ~uint64_t(4095), (area | 4095) + 1);
      CHECK(held == std::set<uint64_t>{0});
      RestartResult r = restart({(dir / "img" / image_name(k)).string()}, dir / "run");
      INFO(r.stderr_text);
      CHECK(r.status == 0);
      CHECK(read_file(dir / ("sum-restored-" + std::to_string(k))) == read_file(dir / ("sum-" + std::to_string(k))));
    }
  }
}
