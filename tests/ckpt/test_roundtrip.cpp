// Round trips of image writing: checkpoints at several points of real jobs,
// validated with readelf, gdb and libelf, and the job's output unchanged.
#include <elf.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <signal.h>
#include <sys/utsname.h>

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "test_helpers.h"

using namespace ckpttest;

namespace {

const nlohmann::json* find_fd(const nlohmann::json& m, const fs::path& path) {
  for (const auto& f : m.at("fds"))
    if (f.at("path") == path.string()) return &f;
  return nullptr;
}

std::string status_line(const fs::path& dir) {
  std::string s = read_file(dir / ".ckpt-status");
  return s.substr(0, s.find('\n'));
}

// What the manifest of a single-threaded job's image says about the process.
void check_process_facts(const nlohmann::json& m, pid_t pid, const std::vector<std::string>& argv) {
  struct utsname un {};
  ::uname(&un);
  CHECK(m.at("pid") == pid);
  CHECK(m.at("signal") == SIGQUIT);
  CHECK(m.at("program").at("path") == fs::canonical(kMatmul).string());
  CHECK(m.at("program").at("argv") == argv);
  CHECK(m.at("comm") == "ckpt-matmul");
  CHECK(m.at("cwd") == fs::current_path().string());
  CHECK(m.at("kernel_release") == un.release);
  CHECK(m.at("glibc_version") == gnu_get_libc_version());
  CHECK(m.at("page_size") == 4096);
  CHECK(m.at("mm").at("brk").get<uint64_t>() >= m.at("mm").at("start_brk").get<uint64_t>());
  REQUIRE(m.at("threads").size() == 1);
  const auto& main_thread = m.at("threads")[0];
  CHECK(main_thread.at("tid") == pid);
  CHECK(main_thread.at("fs_base").get<uint64_t>() != 0);
  CHECK(main_thread.at("xstate_size").get<uint64_t>() >= 512);
  CHECK(main_thread.at("clear_child_tid").get<uint64_t>() != 0);
  CHECK(main_thread.at("robust_list").at("len") == 24);
  REQUIRE(!main_thread.at("rseq").is_null());
  CHECK(main_thread.at("rseq").at("len") == 32);
  CHECK(main_thread.at("rseq").at("sig") == 0x53053053u);
  bool has_ours = false;
  for (const auto& a : m.at("sigactions")) has_ours |= a.at("signo") == SIGQUIT && a.at("handler") != 0;
  CHECK(has_ours);
  CHECK(main_thread.at("sigaltstack").at("size").get<uint64_t>() >= 65536);
  std::set<std::string> kinds;
  for (const auto& mp : m.at("mappings")) kinds.insert(mp.at("kind").get<std::string>());
  for (const char* k : {"file", "stack", "vdso", "heap"}) CHECK(kinds.count(k) == 1);
}

// readelf and gdb read the core as one of the kernel's.
void check_tools_read(const fs::path& image) {
  const CmdResult re = run_shell("readelf -a " + shell_quote((image / "core").string()));
  CHECK(re.status == 0);
  for (const char* note : {"NT_PRSTATUS", "NT_PRPSINFO", "NT_FPREGSET", "NT_X86_XSTATE", "NT_AUXV", "NT_FILE"})
    CHECK(re.out.find(note) != std::string::npos);
  const CmdResult gdb =
      run_shell("gdb -nx -batch -ex bt " + shell_quote(kMatmul) + " " + shell_quote((image / "core").string()));
  INFO(gdb.out << gdb.err);
  CHECK(gdb.out.find("main") != std::string::npos);
}

}  // namespace

TEST_CASE("ckpt-matmul checkpointed three times finishes byte-identical and readelf gdb and libelf read every image") {
  TempDir t;
  const fs::path img = t.path() / "img", out = t.path() / "out.bin", ref = t.path() / "ref.bin";
  const std::vector<std::string> args = {"--n", "1800", "--seed", "7", "--out"};
  auto cmd = [&](const fs::path& o) {
    std::vector<std::string> v = {kMatmul};
    v.insert(v.end(), args.begin(), args.end());
    v.push_back(o.string());
    return v;
  };
  RunningJob job(img, cmd(out), t.path() / "stdout", t.path() / "stderr", {"--keep", "10"});
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));

  std::vector<std::string> images;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    CmdResult r;
    const std::string image = checkpoint_wait(job.job_pid, &r);
    INFO("checkpoint: " << r.err);
    REQUIRE(!image.empty());
    images.push_back(image);
  }
  CHECK(fs::read_symlink(img / "latest") == "ckpt-0003");
  REQUIRE(job.wait() == 0);
  REQUIRE(run_shell(shell_quote(kMatmul) + " --n 1800 --seed 7 --out " + shell_quote(ref.string())).status == 0);
  CHECK(read_file(out) == read_file(ref));
  CHECK(image_names(img) == std::vector<std::string>{"ckpt-0001", "ckpt-0002", "ckpt-0003"});
  CHECK(status_line(img) == "ok 3 ckpt-0003");

  for (size_t i = 0; i < images.size(); ++i) {
    const fs::path image = images[i];
    CHECK(image == img / ("ckpt-000" + std::to_string(i + 1)));
    const ImageReport rep = check_image(image);
    const auto& m = rep.manifest;
    CHECK(m.at("seq") == i + 1);
    check_process_facts(m, job.job_pid, cmd(out));

    // The output file: fopen("wb") -> O_WRONLY, offset = bytes written so far.
    const nlohmann::json* f = find_fd(m, out);
    REQUIRE(f != nullptr);
    CHECK(f->at("kind") == "regular");
    CHECK((f->at("flags").get<int>() & O_ACCMODE) == O_WRONLY);
    CHECK(f->at("offset") == f->at("size"));
    CHECK(read_file(image / f->at("copy").get<std::string>()) ==
          read_file(ref).substr(0, f->at("size").get<size_t>()));

    const std::vector<unsigned> notes = {NT_PRSTATUS, NT_PRPSINFO, NT_FPREGSET, NT_X86_XSTATE, NT_AUXV, NT_FILE};
    CHECK(rep.note_types == notes);
    check_tools_read(image);
  }
}

TEST_CASE("fd offsets and flags and copies and shared file mappings and a job that sets its own handler") {
  TempDir t;
  const fs::path img = t.path() / "img", written = t.path() / "written", shared = t.path() / "shared",
                 ready = t.path() / "ready";
  RunningJob job(img, {CKPT_PROBE, "writer", written.string(), "12345", shared.string(), ready.string()},
                 t.path() / "stdout", t.path() / "stderr");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  CmdResult r;
  const std::string image = checkpoint_wait(job.job_pid, &r);
  INFO(r.err);
  REQUIRE(!image.empty());
  const ImageReport rep = check_image(image);
  const auto& m = rep.manifest;

  const nlohmann::json* f = find_fd(m, written);
  REQUIRE(f != nullptr);
  CHECK(f->at("offset") == 12345);
  CHECK(f->at("size") == 12345);
  CHECK((f->at("flags").get<int>() & O_ACCMODE) == O_WRONLY);
  CHECK(f->at("cloexec") == false);
  CHECK(read_file(fs::path(image) / f->at("copy").get<std::string>()) == read_file(written));
  // stdout of the job is a regular file too (the test redirected it).
  const nlohmann::json* o = find_fd(m, t.path() / "stdout");
  REQUIRE(o != nullptr);
  CHECK(o->at("fd") == 1);

  REQUIRE(m.at("shared_files").size() == 1);
  const auto& s = m.at("shared_files")[0];
  CHECK(s.at("path") == shared.string());
  CHECK(s.at("size") == 8192);
  CHECK(read_file(fs::path(image) / s.at("copy").get<std::string>()).rfind("shared mapping contents", 0) == 0);
  bool mapped_shared = false;
  for (const auto& mp : m.at("mappings"))
    mapped_shared |= mp.at("path") == shared.string() && mp.at("shared") == true && mp.at("kind") == "file";
  CHECK(mapped_shared);

  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
  // The job's own SIGQUIT handler was remembered, not installed: ours took the signal.
  CHECK(read_file(t.path() / "stdout") == "own quit handler calls: 0\n");
}

TEST_CASE("repeated checkpoints number on and signals during a dump are coalesced into it") {
  TempDir t;
  const fs::path img = t.path() / "img", ready = t.path() / "ready";
  RunningJob job(img, {CKPT_PROBE, "alloc", "160", ready.string()}, t.path() / "stdout", t.path() / "stderr",
                 {"--keep", "10", "--no-fork"});  // in-process: signals arrive while the job is in its dump
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  REQUIRE(checkpoint_wait(job.job_pid) == (img / "ckpt-0001").string());
  // The core writer task (write_pipeline.h) is the job's child only while a
  // dump runs: reaped by the time the image is complete.
  const std::string children = "/proc/" + std::to_string(job.job_pid) + "/task/" + std::to_string(job.job_pid) + "/children";
  CHECK(read_file(children).empty());
  REQUIRE(checkpoint_wait(job.job_pid) == (img / "ckpt-0002").string());
  CHECK(read_file(children).empty());

  for (int i = 0; i < 5; ++i) ::kill(job.job_pid, SIGQUIT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (status_line(img) != "ok 3 ckpt-0003" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(status_line(img) == "ok 3 ckpt-0003");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(image_names(img) == std::vector<std::string>{"ckpt-0001", "ckpt-0002", "ckpt-0003"});
  CHECK(status_line(img) == "ok 3 ckpt-0003");
  check_image(img / "ckpt-0003");
  CHECK(fs::read_symlink(img / "latest") == "ckpt-0003");

  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
  // Nor did the job see a SIGCHLD from it.
  CHECK(read_file(t.path() / "stdout").find("sigchld 0\n") != std::string::npos);
}

TEST_CASE("a job that may not clone is dumped by the handler alone, image intact") {
  TempDir t;
  const fs::path img = t.path() / "img", ready = t.path() / "ready";
  RunningJob job(img, {CKPT_PROBE, "noclone", "48", ready.string()}, t.path() / "stdout", t.path() / "stderr");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  REQUIRE(checkpoint_wait(job.job_pid) == (img / "ckpt-0001").string());
  check_image(img / "ckpt-0001");
  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
  const std::string out = read_file(t.path() / "stdout");
  INFO(out);
  CHECK(out.rfind("clone denied\n", 0) == 0);  // the filter held, so the fallback path ran
  CHECK(out.find("sigchld 0\n") != std::string::npos);
}

TEST_CASE("run --keep 2 leaves the two newest complete images, latest on the newest, both whole") {
  TempDir t;
  const fs::path img = t.path() / "img", ready = t.path() / "ready";
  RunningJob job(img, {CKPT_PROBE, "alloc", "8", ready.string()}, t.path() / "stdout", t.path() / "stderr",
                 {"--keep", "2"});
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  for (int i = 1; i <= 4; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "ckpt-%04d", i);
    REQUIRE(checkpoint_wait(job.job_pid) == (img / name).string());
  }
  CHECK(image_names(img) == std::vector<std::string>{"ckpt-0003", "ckpt-0004"});
  CHECK(fs::read_symlink(img / "latest") == "ckpt-0004");
  check_image(img / "ckpt-0003");
  check_image(img / "ckpt-0004");
  ::kill(job.job_pid, SIGTERM);
  job.wait();
}

TEST_CASE("run --keep refuses 0") {
  CmdResult r = run_shell(shell_quote(kCkptsim) + " run --keep 0 -- /bin/true");
  CHECK(r.status == 2);
  CHECK(r.err.find("--keep") != std::string::npos);
}

TEST_CASE("run --fork: a forked copy writes the image, the job sees no SIGCHLD, and no writer is left") {
  TempDir t;
  const fs::path img = t.path() / "img", ready = t.path() / "ready";
  RunningJob job(img, {CKPT_PROBE, "alloc", "64", ready.string()}, t.path() / "stdout", t.path() / "stderr",
                 {"--fork", "--keep", "10"});
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  REQUIRE(checkpoint_wait(job.job_pid) == (img / "ckpt-0001").string());
  REQUIRE(checkpoint_wait(job.job_pid) == (img / "ckpt-0002").string());
  check_image(img / "ckpt-0001");
  check_image(img / "ckpt-0002");
  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
  const std::string out = read_file(t.path() / "stdout");
  CHECK(out.find("sigchld 0") != std::string::npos);
  // Every writer ended: nothing runs the probe any more.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool left = true;
  while (left && std::chrono::steady_clock::now() < deadline) {
    left = false;
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string cmdline = read_file(e.path() / "cmdline");
      left |= cmdline.find(ready.string()) != std::string::npos && cmdline.rfind(CKPT_PROBE, 0) == 0;
    }
    if (left) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(!left);
}


TEST_CASE("run forks by default and its log says so once; --no-fork dumps in-process; not both") {
  const auto count = [](const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  };
  for (const bool no_fork : {false, true}) {
    DYNAMIC_SECTION((no_fork ? "--no-fork" : "default")) {
      TempDir t;
      const fs::path img = t.path() / "img", ready = t.path() / "ready";
      std::vector<std::string> opts = {"--keep", "10"};
      if (no_fork) opts.push_back("--no-fork");
      RunningJob job(img, {CKPT_PROBE, "alloc", "64", ready.string()}, t.path() / "stdout", t.path() / "stderr", opts);
      REQUIRE(job.job_pid > 0);
      REQUIRE(wait_for_file(ready));
      for (const char* image : {"ckpt-0001", "ckpt-0002", "ckpt-0003"}) {
        REQUIRE(checkpoint_wait(job.job_pid) == (img / image).string());
        check_image(img / image);
      }
      ::kill(job.job_pid, SIGTERM);
      CHECK(job.wait() == 0);
      const std::string err = read_file(t.path() / "stderr");
      INFO(err);
      if (no_fork) {
        CHECK(err.find("forked") == std::string::npos);
      } else {
        CHECK(count(err, "ckpt: dumps are forked from checkpoint 1 on: the job is stopped only to fork") == 1);
        CHECK(count(err, "forked") == 1);
      }
    }
  }
  const CmdResult both = run_shell(shell_quote(kCkptsim) + " run --fork --no-fork -- true");
  CHECK(both.status != 0);
  CHECK(both.err.find("--no-fork") != std::string::npos);
}
