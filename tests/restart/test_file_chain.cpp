// Incremental file copies (ckpt/src/lib/file_delta.h): a job appending to a
// log and rewriting a region of a data file in place, checkpointed 6 times
// with `run --incremental`, is restored from every image of the chain to the
// very files (content, size, offsets) of an uninterrupted run; the later
// images hold a small part of each file; a parent's copy missing or corrupted
// is refused naming it, and nothing is written.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "harness.h"

using namespace restart_test;
using nlohmann::json;

namespace {

constexpr int kSteps = 6;


void touch(const fs::path& p) { write_file(p, ""); }

struct Outcome {
  std::string log, data, offsets;
};

Outcome outcome(const fs::path& run) {
  return {read_file(run / "log.txt"), read_file(run / "data.bin"), read_file(run / "offsets")};
}

// The job run to its end, every step let through at once.
Outcome uninterrupted(const TempDir& dir) {
  const fs::path run = dir / "ref";
  fs::create_directories(run);
  for (int k = 1; k <= kSteps; ++k) touch(run / ("next-" + std::to_string(k)));
  Job job = start_job(dir / "ref-img", {prog("prog_filelog"), std::to_string(kSteps)}, run, Redirect{},
                      {"--incremental", "--keep", "100"});
  REQUIRE(wait_status(job.runner) == 0);
  return outcome(run);
}

// The job checkpointed after each step (`checkpoint --wait`), killed after the last.
void checkpointed_chain(const TempDir& dir) {
  const fs::path run = dir / "run";
  fs::create_directories(run);
  Redirect io;
  io.err = (dir / "job-stderr.txt").string();
  Job job = start_job(dir / "img", {prog("prog_filelog"), std::to_string(kSteps)}, run, io,
                      {"--incremental", "--keep", "100"});
  for (int k = 1; k <= kSteps; ++k) {
    REQUIRE(eventually([&] { return fs::exists(run / ("ready-" + std::to_string(k))); }));
    INFO(read_file(dir / "job-stderr.txt"));
    REQUIRE(checkpoint(job.pid));
    touch(run / ("next-" + std::to_string(k)));
  }
  kill_job(job);
}

// The manifest entry (fds[]) of the job's file `name`.
json fd_entry(const fs::path& image, const std::string& name) {
  const json m = json::parse(read_file(image / "manifest.json"));
  for (const auto& f : m.at("fds"))
    if (f.value("path", "").size() >= name.size() &&
        f.value("path", "").compare(f.value("path", "").size() - name.size(), name.size(), name) == 0)
      return f;
  FAIL("no fd of " << name << " in " << image);
  return {};
}

uint64_t allocated(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return uint64_t(st.st_blocks) * 512;
}

}  // namespace

TEST_CASE("incremental files: a log appended to and a data file rewritten in place, restored from every image of a chain of 6") {
  TempDir dir;
  const Outcome expected = uninterrupted(dir);
  checkpointed_chain(dir);
  const fs::path img = dir / "img";
  for (int seq = 2; seq <= kSteps; ++seq) {
    const fs::path image = img / image_name(seq);
    INFO(image_name(seq));
    for (const char* name : {"/log.txt", "/data.bin"}) {
      const json f = fd_entry(image, name);
      INFO(f.dump());
      REQUIRE(f.contains("delta"));
      CHECK(f.at("delta").at("parent_copy") == fd_entry(img / image_name(seq - 1), name).at("copy"));
      const std::string copy = f.at("copy");
      const uint64_t stored = allocated(image / copy) + allocated(image / (copy + ".blocks"));
      const uint64_t size = f.at("size");
      CHECK(stored * 20 < size);  // under 5 % of the file
    }
  }
  for (int seq = 1; seq <= kSteps; ++seq) {
    INFO("restored from " << image_name(seq));
    RestartResult r = restart({(img / image_name(seq)).string()}, dir / "run");
    INFO(r.stderr_text);
    REQUIRE(r.status == 0);
    const Outcome got = outcome(dir / "run");
    CHECK(got.offsets == expected.offsets);
    CHECK(got.log.size() == expected.log.size());
    CHECK(got.log == expected.log);
    CHECK(got.data == expected.data);
    fs::remove(dir / "run" / "offsets");
  }
  // Flattened: whole copies, no deltas, the same files without the chain.
  const fs::path flat = dir / "flat";
  REQUIRE(run({ckptsim_exe(), "image", "flatten", (img / image_name(kSteps)).string(), "--out", flat.string()},
              dir.path(), Redirect{}) == 0);
  for (const char* name : {"/log.txt", "/data.bin"}) CHECK(!fd_entry(flat, name).contains("delta"));
  fs::remove_all(img);
  RestartResult r = restart({flat.string()}, dir / "run");
  INFO(r.stderr_text);
  REQUIRE(r.status == 0);
  const Outcome got = outcome(dir / "run");
  CHECK(got.offsets == expected.offsets);
  CHECK(got.log == expected.log);
  CHECK(got.data == expected.data);
}

TEST_CASE("incremental files: a parent's copy corrupted or missing is refused naming it, nothing written") {
  TempDir dir;
  checkpointed_chain(dir);
  const fs::path img = dir / "img";
  const std::string data_copy = fd_entry(img / image_name(kSteps), "/data.bin").at("copy");
  append_file(dir / "run" / "data.bin", "written after the checkpoint");
  const auto before = fingerprint(dir / "run");

  SECTION("the oldest whole copy corrupted") {
    const fs::path base = img / image_name(1) / data_copy;
    std::string bytes = read_file(base);
    bytes[bytes.size() / 2] ^= 1;
    fs::remove(base);  // later images may link it: only this image's file changes
    write_file(base, bytes);
    fs::permissions(base, fs::perms::owner_read | fs::perms::owner_write);
    RestartResult r = restart({(img / image_name(kSteps)).string()}, dir / "run");
    CHECK(r.status != 0);
    CHECK(r.stderr_text.find(image_name(1)) != std::string::npos);
    CHECK(r.stderr_text.find(data_copy) != std::string::npos);
    CHECK(r.stderr_text.find("corrupt") != std::string::npos);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  }
  SECTION("a middle link's changed ranges missing") {
    fs::remove(img / image_name(3) / data_copy);
    RestartResult r = restart({(img / image_name(kSteps)).string()}, dir / "run");
    CHECK(r.status != 0);
    CHECK(r.stderr_text.find(image_name(3)) != std::string::npos);
    CHECK(r.stderr_text.find(data_copy) != std::string::npos);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  }
  SECTION("a middle link's changed ranges corrupted") {
    const fs::path delta = img / image_name(3) / data_copy;
    std::string bytes = read_file(delta);
    REQUIRE(!bytes.empty());
    bytes[0] ^= 1;
    fs::remove(delta);
    write_file(delta, bytes);
    fs::permissions(delta, fs::perms::owner_read | fs::perms::owner_write);
    RestartResult r = restart({(img / image_name(kSteps)).string()}, dir / "run");
    CHECK(r.status != 0);
    CHECK(r.stderr_text.find(image_name(3)) != std::string::npos);
    CHECK(r.stderr_text.find(data_copy) != std::string::npos);
    CHECK(r.stderr_text.find("corrupt") != std::string::npos);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  }
  CHECK(fingerprint(dir / "run") == before);
  CHECK(processes_running(prog("prog_filelog"), dir.path()).empty());
}
