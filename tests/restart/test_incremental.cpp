// Incremental images (run --incremental) and forked dumps: chains restore
// byte-identical, a job writing hard during a forked dump gets a consistent
// image, retention keeps what a kept image needs, bad chains are refused
// naming the link, a deleted parent makes the next dump a full one, and
// `image flatten` writes one standalone image gdb can open.
#include <catch2/catch.hpp>

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstring>
#include <set>

#include "harness.h"

using namespace restart_test;
using nlohmann::json;

namespace {

std::string matmul() { return build_path("ckpt-matmul"); }

std::string reference(const TempDir& dir, int n) {
  REQUIRE(run({matmul(), "--n", std::to_string(n), "--out", (dir / "ref.bin").string()}, dir.path(), Redirect{}) == 0);
  return read_file(dir / "ref.bin");
}

// ckpt-matmul under `ckptsim run OPTIONS`, in dir/run, images in dir/img,
// its stderr (progress and libckpt's lines) in dir/progress.txt; paused once
// it has made progress, for checkpoint_paused (it computes only while a dump
// stops it: checkpoint_paused asks the library to stop it again, after the
// fork for a forked dump, so it outlives any number of checkpoints however
// fast the machine). Forked dumps (run's default) unless run_options say
// --no-fork.
Job start_matmul(const TempDir& dir, int n, const std::vector<std::string>& run_options) {
  fs::create_directories(dir / "run");
  Redirect io;
  io.err = (dir / "progress.txt").string();
  Job job = start_job(dir / "img", {matmul(), "--n", std::to_string(n), "--out", "out.bin", "--progress"}, dir / "run",
                      io, run_options);
  REQUIRE(eventually([&] { return file_contains(dir / "progress.txt", "row 64/"); }));
  REQUIRE(pause_job(job.pid));
  return job;
}

json manifest(const fs::path& image) { return json::parse(read_file(image / "manifest.json")); }


std::set<std::string> images_in(const fs::path& img) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(img))
    if (e.path().filename().string().rfind("ckpt-", 0) == 0) out.insert(e.path().filename().string());
  return out;
}

// A chain of `count` images of ckpt-matmul (n), the job killed after the last.
void matmul_chain(const TempDir& dir, int n, int count, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> options{"--incremental", "--keep", "100"};
  options.insert(options.end(), extra.begin(), extra.end());
  Job job = start_matmul(dir, n, options);
  for (int i = 0; i < count; ++i) REQUIRE(checkpoint_paused(job.pid, dir / "img"));
  kill_job(job);
  append_file(dir / "run" / "out.bin", "garbage the killed run wrote after the checkpoint");
}

void restores_to(const TempDir& dir, const fs::path& image, const std::string& expected) {
  RestartResult r = restart({image.string()}, dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 0);
  CHECK(read_file(dir / "run" / "out.bin") == expected);
}

// File offset of the PT_LOAD at vaddr in an ELF core.
uint64_t segment_offset(const fs::path& core, uint64_t vaddr) {
  const std::string text = read_file(core);
  Elf64_Ehdr eh;
  std::memcpy(&eh, text.data(), sizeof eh);
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, text.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_LOAD && ph.p_vaddr == vaddr) return ph.p_offset;
  }
  FAIL("no PT_LOAD at " << vaddr);
  return 0;
}

bool holds_page(const json& m, uint64_t page) {  // page index within the mapping
  if (!m.contains("delta")) return true;
  for (const auto& r : m.at("delta"))
    if (page >= r[0].get<uint64_t>() && page < r[0].get<uint64_t>() + r[1].get<uint64_t>()) return true;
  return false;
}

// Runs prog_scribble (it checkpoints itself `checkpoints` times and writes
// memory hard after each) under `run OPTIONS`, kills it once the last image is
// complete, restores it: the checksum it computed of its memory at the last
// checkpoint and the restored job's must agree.
void scribble_consistent(const std::vector<std::string>& options, int checkpoints) {
  TempDir dir;
  fs::create_directories(dir / "run");
  Redirect io;
  io.err = (dir / "job-stderr.txt").string();
  Job job = start_job(dir / "img", {prog("prog_scribble"), dir.path().string(), "64", std::to_string(checkpoints), "400"},
                      dir / "run", io, options);
  const std::string last = image_name(checkpoints);
  const fs::path sum = dir / ("sum-" + std::to_string(checkpoints));
  REQUIRE(eventually([&] {
    std::error_code ec;
    return fs::exists(sum) && fs::read_symlink(dir / "img" / "latest", ec).string() == last;
  }));
  kill_job(job);
  INFO(read_file(dir / "job-stderr.txt"));
  RestartResult r = restart({(dir / "img" / "latest").string()}, dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 0);
  CHECK(read_file(dir / ("sum-" + std::to_string(checkpoints) + "-restored")) == read_file(sum));
}

}  // namespace

TEST_CASE("incremental: a chain of 5 images of ckpt-matmul restores byte-identical") {
  const int n = 1000;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  matmul_chain(dir, n, 5);
  CHECK(!manifest(dir / "img" / image_name(1)).contains("parent"));
  for (int i = 2; i <= 5; ++i) {
    const json m = manifest(dir / "img" / image_name(i));
    INFO(image_name(i));
    CHECK(m.at("format_version") == 3);
    CHECK(m.at("parent").at("image") == image_name(i - 1));
    CHECK(m.at("parent").at("chain") == i - 1);
    CHECK(m.at("written").at("incremental") == true);
    CHECK(m.at("written").at("memory_bytes") < m.at("written").at("full_memory_bytes"));
  }
  restores_to(dir, dir / "img" / "latest", expected);
}

TEST_CASE("incremental: the same chain of 5 written in-process (run --no-fork) restores byte-identical") {
  const int n = 1000;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  matmul_chain(dir, n, 5, {"--no-fork"});
  for (int i = 2; i <= 5; ++i) CHECK(manifest(dir / "img" / image_name(i)).at("parent").at("image") == image_name(i - 1));
  restores_to(dir, dir / "img" / "latest", expected);
}

TEST_CASE("incremental: the executable and unchanged copies are links to the parent's, changed ones new copies") {
  const int n = 800;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  // Its progress (stderr, a file) may grow between images; its executable does not.
  matmul_chain(dir, n, 3);
  const fs::path img = dir / "img";
  auto inode = [](const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_ino;
  };
  for (int seq = 2; seq <= 3; ++seq) {
    const fs::path image = img / image_name(seq), parent = img / image_name(seq - 1);
    INFO(image);
    CHECK(inode(image / "exe") == inode(parent / "exe"));
    int linked = 0, copied = 0;
    for (const auto& e : fs::directory_iterator(image / "files")) {
      const fs::path same = parent / "files" / e.path().filename();
      if (!fs::exists(same)) continue;
      const bool unchanged = read_file(e.path()) == read_file(same);
      INFO(e.path().filename() << (unchanged ? " unchanged" : " changed"));
      CHECK((inode(e.path()) == inode(same)) == unchanged);
      ++(unchanged ? linked : copied);
    }
    CHECK(linked > 0);
  }
  restores_to(dir, img / "latest", expected);
}

TEST_CASE("forked dumps: a job writing its memory hard during the dump gets the memory of the checkpoint") {
  scribble_consistent({"--fork"}, 2);
}

TEST_CASE("incremental + forked: five images of a job writing hard during each dump, restored consistent") {
  scribble_consistent({"--fork", "--incremental", "--keep", "100"}, 5);
}

TEST_CASE("incremental + forked + kernel dirty tracking: five images of a job writing hard, restored consistent") {
  scribble_consistent({"--fork", "--incremental", "--dirty", "kernel", "--keep", "100"}, 5);
}

TEST_CASE("incremental: --max-chain 2 --keep 2 leaves the two newest images and the parents they need") {
  const int n = 1000;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  Job job = start_matmul(dir, n, {"--incremental", "--max-chain", "2", "--keep", "2"});
  for (int i = 0; i < 6; ++i) REQUIRE(checkpoint_paused(job.pid, dir / "img"));
  kill_job(job);
  // Chains: 1 <- 2 <- 3, 4 <- 5 <- 6. The newest two are 5 and 6; 6 needs 5 and 4.
  CHECK(images_in(dir / "img") == std::set<std::string>{"ckpt-0004", "ckpt-0005", "ckpt-0006"});
  CHECK(fs::read_symlink(dir / "img" / "latest") == "ckpt-0006");
  CHECK(!manifest(dir / "img" / "ckpt-0004").contains("parent"));
  restores_to(dir, dir / "img" / "latest", expected);
}

TEST_CASE("run --max-chain 0 and --max-chain without --incremental are refused with one line") {
  for (const auto& args : {std::vector<std::string>{"--incremental", "--max-chain", "0"},
                           std::vector<std::string>{"--max-chain", "3"}}) {
    TempDir dir;
    std::vector<std::string> argv{ckptsim_exe(), "run", "--dir", (dir / "img").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--", "/bin/true"});
    Redirect io;
    io.err = (dir / "err.txt").string();
    CHECK(run(argv, dir.path(), io) == 2);
    const std::string err = read_file(dir / "err.txt");
    INFO(err);
    CHECK(err.find("--max-chain") != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 1);
    CHECK(!fs::exists(dir / "img"));
  }
}

TEST_CASE("incremental: a missing, swapped or corrupted parent is refused naming it, nothing started") {
  const int n = 800;
  TempDir dir;
  matmul_chain(dir, n, 3);
  const fs::path img = dir / "img";
  auto refused = [&](const std::string& name) {
    RestartResult r = restart({(img / "latest").string()}, dir / "run");
    INFO(r.stderr_text);
    CHECK(r.status == 2);
    CHECK(r.stderr_text.find(name) != std::string::npos);
    CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
    CHECK(processes_running(matmul(), dir.path()).empty());
  };

  SECTION("missing") {
    fs::remove_all(img / "ckpt-0002");
    refused("parent image ckpt-0002 of ckpt-0003");
  }
  SECTION("swapped: another manifest, correctly self-checksummed") {
    std::string text = read_file(img / "ckpt-0002" / "manifest.json");
    text = text.substr(0, text.rfind(",\"manifest_xxh3\"")) + "}";
    text.insert(text.find("\"comm\":"), "\"note\":\"swapped\",");
    ::chmod((img / "ckpt-0002" / "manifest.json").c_str(), 0600);
    write_signed_manifest(img / "ckpt-0002", text);
    refused("parent image ckpt-0002 of ckpt-0003: its manifest.json is not the one ckpt-0003 was written on");
  }
  SECTION("corrupted: a page of the full image that neither increment replaced") {
    const json m3 = manifest(img / "ckpt-0003"), m2 = manifest(img / "ckpt-0002"), m1 = manifest(img / "ckpt-0001");
    // The biggest mapping with a delta in ckpt-0003: a page held by neither increment.
    const json* target = nullptr;
    for (const auto& m : m3.at("mappings"))
      if (m.contains("delta") && (!target || m.at("end").get<uint64_t>() - m.at("start").get<uint64_t>() >
                                                 target->at("end").get<uint64_t>() - target->at("start").get<uint64_t>()))
        target = &m;
    REQUIRE(target);
    const uint64_t start = target->at("start"), end = target->at("end");
    auto same = [&](const json& man) -> const json& {
      for (const auto& m : man.at("mappings"))
        if (m.at("start") == start && m.at("end") == end) return m;
      FAIL("mapping not in every link");
      return man;
    };
    const json& in2 = same(m2);
    uint64_t page = 0;
    while (start + page * 4096 < end && (holds_page(*target, page) || holds_page(in2, page))) ++page;
    REQUIRE(start + page * 4096 < end);
    const fs::path core = img / "ckpt-0001" / "core";
    const uint64_t at = segment_offset(core, start) + page * 4096 + 100;
    (void)same(m1);
    ::chmod(core.c_str(), 0600);
    std::fstream f(core, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(c ^ 0x5a));
    f.close();
    refused("parent image ckpt-0001 (in the chain of ckpt-0003): core: segment");
  }
}

// The newest image is the next dump's parent: deleting it also frees its
// number, so the full dump that replaces it takes the same name.
TEST_CASE("incremental: the parent deleted during the run, the next dump is a full one and says so") {
  const int n = 1000;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  Job job = start_matmul(dir, n, {"--incremental", "--keep", "100"});
  REQUIRE(checkpoint_paused(job.pid, dir / "img"));
  REQUIRE(checkpoint_paused(job.pid, dir / "img"));
  fs::remove_all(dir / "img" / "ckpt-0002");
  REQUIRE(checkpoint_paused(job.pid, dir / "img"));
  REQUIRE(checkpoint_paused(job.pid, dir / "img"));
  kill_job(job);
  const std::string err = read_file(dir / "progress.txt");
  INFO(err);
  CHECK(err.find("ckpt: checkpoint 2: parent ckpt-0002 is gone (No such file or directory): writing a full image") !=
        std::string::npos);
  const json full = manifest(dir / "img" / "ckpt-0002");
  CHECK(full.at("format_version") == 2);
  CHECK(!full.contains("parent"));
  CHECK(full.at("written").at("incremental") == false);
  const json next = manifest(dir / "img" / "ckpt-0003");  // incremental again, on the new full image
  CHECK(next.at("parent").at("image") == "ckpt-0002");
  CHECK(next.at("parent").at("chain") == 1);
  const std::string text = read_file(dir / "img" / "ckpt-0002" / "manifest.json");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(text.data(), text.size())));
  CHECK(next.at("parent").at("manifest_xxh3") == hex);  // the new ckpt-0002, not the deleted one
  restores_to(dir, dir / "img" / "latest", expected);
}

TEST_CASE("image flatten: a chain of 3 as one full image, restored byte-identical, opened by gdb") {
  const int n = 1000;
  TempDir refdir, dir;
  const std::string expected = reference(refdir, n);
  matmul_chain(dir, n, 3);
  const fs::path flat = dir / "flat";
  Redirect io;
  io.err = (dir / "flatten-err.txt").string();
  REQUIRE(run({ckptsim_exe(), "image", "flatten", (dir / "img" / "latest").string(), "--out", flat.string()}, dir.path(),
              io) == 0);
  const json m = manifest(flat);
  CHECK(m.at("format_version") == 2);
  CHECK(!m.contains("parent"));
  CHECK(m.at("flattened_from") == "ckpt-0003");
  for (const auto& map : m.at("mappings")) CHECK(!map.contains("delta"));
  // A second flatten into the same place is refused, the first left whole.
  CHECK(run({ckptsim_exe(), "image", "flatten", (dir / "img" / "latest").string(), "--out", flat.string()}, dir.path(),
            io) == 1);
  fs::remove_all(dir / "img");  // standalone: no parent needed
  Redirect gio;
  gio.out = (dir / "gdb.txt").string();
  REQUIRE(run({"/usr/bin/gdb", "-batch", "-ex", "bt", matmul(), (flat / "core").string()}, dir.path(), gio) == 0);
  const std::string bt = read_file(dir / "gdb.txt");
  INFO(bt);
  CHECK(bt.find("#0") != std::string::npos);
  CHECK(bt.find("main") != std::string::npos);
  restores_to(dir, flat, expected);
}
