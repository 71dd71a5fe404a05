// Forked and incremental dumps of a whole tree (issue 19 item 2): a shell with
// two compute children and an append log they share, checkpointed three
// times incrementally (forked, and in-process), every process killed, then
// restored from the newest image and from a middle one: the same outputs as
// an uninterrupted run. Each process's core in image K names the same
// process's core in image K-1 as its parent; a damaged parent core of one
// process is refused naming it; `image flatten` of a tree chain restores the
// same; --keep keeps the parents a kept tree image
// needs; --interval checkpoints the tree as `checkpoint` does.
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "tree_jobs.h"

using namespace restart_test;
using nlohmann::json;

namespace {

// Each worker computes a running value and prints it, line by line (its
// memory changes between checkpoints); the shell appends to `log` through an
// fd its children share (one open file: one offset for all).
const char* kScript = R"(exec 3>>log
worker() {
  python3 -u -c '
import os, sys, time
acc = 0
for i in range(300):
    acc = (acc * 31 + i * int(sys.argv[1])) % 1000003
    print(i, acc)
    if i % 50 == 0:
        os.write(3, ("worker %s at %d\n" % (sys.argv[1], i)).encode())
    time.sleep(0.01)
' "$1" > "out-$1"
}
worker 1 &
worker 2 &
for i in $(seq 1 60); do echo "shell $i" >&3; sleep 0.05; done
wait
echo done >&3
)";

const std::vector<std::string> kOutputs{"out-1", "out-2", "log"};

// The log's lines grouped by writer (a line less its last word), each
// writer's in its order: the shell's and the workers' interleave as the
// scheduler has it.
std::string log_sorted(const std::string& text) {
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) lines.push_back(text.substr(at, nl - at));
  auto writer = [](const std::string& l) { return l.substr(0, l.rfind(' ') == std::string::npos ? l.size() : l.rfind(' ')); };
  std::stable_sort(lines.begin(), lines.end(),
                   [&](const std::string& a, const std::string& b) { return writer(a) < writer(b); });
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out + text.substr(at);
}

std::string output(const fs::path& dir, const std::string& name) {
  const std::string text = read_file(dir / name);
  return name == "log" ? log_sorted(text) : text;
}


std::set<std::string> procs_of(const fs::path& image) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(image))
    if (e.path().filename().string().rfind("proc-", 0) == 0) out.insert(e.path().filename().string());
  return out;
}

json manifest(const fs::path& dir) { return json::parse(read_file(dir / "manifest.json")); }

uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

struct Chain {
  TempDir ref, dir;
  fs::path cwd, img;
};

// The reference run, then the job under `run OPTIONS` checkpointed at ~30,
// ~40 and ~50 % of out-1, and killed whole at ~60 %.
void make_chain(Chain& c, const std::vector<std::string>& options) {
  write_file(c.ref / "job.sh", kScript);
  REQUIRE(run({"/bin/bash", "job.sh"}, c.ref.path(), Redirect{}) == 0);
  const uint64_t total = size_of(c.ref / "out-1");
  REQUIRE(total > 0);
  c.cwd = c.dir / "run";
  c.img = c.dir / "img";
  fs::create_directories(c.cwd);
  write_file(c.cwd / "job.sh", kScript);
  Redirect io;
  io.err = (c.dir / "stderr.txt").string();
  Job job = start_job(c.img, {"/bin/bash", "job.sh"}, c.cwd, io, options);
  for (int k = 3; k <= 5; ++k) {
    REQUIRE(eventually([&] { return size_of(c.cwd / "out-1") >= total * k / 10; }));
    INFO("job stderr: " << read_file(c.dir / "stderr.txt"));
    REQUIRE(eventually([&] { return checkpoint(job.pid); }));
  }
  REQUIRE(eventually([&] { return size_of(c.cwd / "out-1") >= total * 6 / 10; }));
  kill_job_tree(job);
}

void restores_identical(const Chain& c, const std::string& image) {
  RestartResult r = restart({(c.img / image).lexically_normal().string()}, c.cwd);
  INFO("restart of " << image << ": " << r.stderr_text);
  CHECK(r.status == 0);
  for (const auto& out : kOutputs) {
    INFO("output " << out);
    CHECK(output(c.cwd, out) == output(c.ref.path(), out));
  }
}

void check_chain(const Chain& c) {
  const fs::path last = c.img / image_name(3), middle = c.img / image_name(2);
  REQUIRE(fs::exists(last / "tree.json"));
  // The tree image names its parent; each process's core names the same
  // process's in it, a process new since then (a `sleep`) is a full one.
  CHECK(read_file(last / "parent") == image_name(2) + "\n");
  const std::set<std::string> before = procs_of(middle);
  int linked = 0;
  for (const auto& p : procs_of(last)) {
    const json m = manifest(last / p);
    INFO(p);
    if (before.count(p)) {
      REQUIRE(m.contains("parent"));
      CHECK(m.at("parent").at("image") == image_name(2));
      ++linked;
    } else {
      CHECK_FALSE(m.contains("parent"));
    }
  }
  CHECK(linked >= 3);  // the shell and both workers
  restores_identical(c, image_name(3));
  restores_identical(c, image_name(2));
  // `image flatten` rebuilds each process's image from its chain: a full tree image.
  const fs::path flat = c.dir / "flat";
  REQUIRE(run({ckptsim_exe(), "image", "flatten", middle.string(), "--out", flat.string()}, c.dir.path(), Redirect{}) == 0);
  for (const auto& p : procs_of(flat)) CHECK_FALSE(manifest(flat / p).contains("parent"));
  CHECK(procs_of(flat) == before);
  restores_identical(c, "../flat");
}

}  // namespace

TEST_CASE("trees: an incremental forked chain of 3 tree images restores byte-identical from the last and a middle one") {
  Chain c;
  make_chain(c, {"--incremental", "--fork", "--keep", "10"});
  check_chain(c);
}

TEST_CASE("trees: an incremental in-process chain of 3 tree images restores byte-identical from the last and a middle one") {
  Chain c;
  make_chain(c, {"--incremental", "--keep", "10"});
  check_chain(c);
}

TEST_CASE("trees: a missing or damaged parent core of one process of a tree chain is refused naming it") {
  Chain c;
  make_chain(c, {"--incremental", "--fork", "--keep", "10"});
  const fs::path last = c.img / image_name(3), middle = c.img / image_name(2);
  // A worker: in both images, with a parent.
  std::string victim;
  for (const auto& p : procs_of(last))
    if (procs_of(middle).count(p) && manifest(last / p).at("comm") == "python3") victim = p;
  REQUIRE(!victim.empty());
  auto refused = [&](const std::string& what) {
    RestartResult r = restart({(c.img / "latest").string()}, c.cwd);
    INFO(r.stderr_text);
    CHECK(r.status == 2);
    CHECK(r.stderr_text.find(what) != std::string::npos);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  };
  SECTION("missing") {
    fs::remove(middle / victim / "core");
    refused("parent image " + image_name(2) + " of " + victim);
  }
  SECTION("damaged") {
    const fs::path core = middle / victim / "core";
    std::string bytes = read_file(core);
    REQUIRE(bytes.size() > 8192);
    bytes.resize(bytes.size() / 2);  // cut short
    fs::permissions(core, fs::perms::owner_read | fs::perms::owner_write);
    write_file(core, bytes);
    refused("parent image " + image_name(2) + " of " + victim);
  }
}

TEST_CASE("trees: --keep 2 --max-chain 1 on a tree chain keeps the two newest images and the parent one needs") {
  Chain c;
  make_chain(c, {"--incremental", "--fork", "--keep", "2", "--max-chain", "1"});
  std::set<std::string> images;
  for (const auto& e : fs::directory_iterator(c.img))
    if (e.path().filename().string().rfind("ckpt-", 0) == 0) images.insert(e.path().filename().string());
  // ckpt-0003 is a full one again (the chain had its one link), ckpt-0002 needs ckpt-0001.
  CHECK(images == std::set<std::string>{image_name(1), image_name(2), image_name(3)});
  CHECK_FALSE(fs::exists(c.img / image_name(3) / "parent"));
  CHECK(read_file(c.img / image_name(2) / "parent") == image_name(1) + "\n");
  restores_identical(c, image_name(2));
  restores_identical(c, "latest");
}

TEST_CASE("trees: run --interval checkpoints the whole tree, forked and incremental, and --keep 1 keeps one chain") {
  TempDir ref, dir;
  write_file(ref / "job.sh", kScript);
  REQUIRE(run({"/bin/bash", "job.sh"}, ref.path(), Redirect{}) == 0);
  const uint64_t total = size_of(ref / "out-1");
  const fs::path cwd = dir / "run", img = dir / "img";
  fs::create_directories(cwd);
  write_file(cwd / "job.sh", kScript);
  Redirect io;
  io.err = (dir / "stderr.txt").string();
  Job job = start_job(img, {"/bin/bash", "job.sh"}, cwd, io,
                      // A long chain: how many checkpoints come before the kill
                      // depends on the machine's load, and a ninth would start a
                      // new chain with a full image.
                      {"--interval", "0.4", "--incremental", "--fork", "--keep", "1", "--max-chain", "1000"});
  REQUIRE(eventually([&] { return fs::exists(img / image_name(3) / "tree.json"); }));
  REQUIRE(eventually([&] { return size_of(cwd / "out-1") >= total * 6 / 10; }));
  kill_job_tree(job);
  INFO("job stderr: " << read_file(dir / "stderr.txt"));
  const fs::path latest = fs::canonical(img / "latest");
  INFO("latest: " << latest.filename().string());
  REQUIRE(fs::exists(latest / "tree.json"));
  CHECK(fs::exists(latest / "parent"));  // incremental: a chain, its links kept
  RestartResult r = restart({(img / "latest").string()}, cwd);
  INFO("restart: " << r.stderr_text);
  CHECK(r.status == 0);
  for (const auto& out : kOutputs) {
    INFO("output " << out);
    CHECK(output(cwd, out) == output(ref.path(), out));
  }
}
