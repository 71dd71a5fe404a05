// `ckptsim run --resume` and `--checkpoint-on-term` without a scheduler: one
// command starts a job or resumes it from its newest complete image of the same
// command; a SIGTERM checkpoints and stops it (exit 75). Fast: no Slurm needed.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "paused_checkpoint.h"
#include "test_helpers.h"

using namespace ckpttest;

namespace {

const int kOrder = 1500;

std::vector<std::string> matmul_argv(const TempDir& t) {
  return {kMatmul, "--n", std::to_string(kOrder), "--out", (t / "out.bin").string(), "--progress"};
}

std::string reference(const TempDir& t) {
  REQUIRE(run_shell(shell_quote(kMatmul) + " --n " + std::to_string(kOrder) + " --out " +
                    shell_quote((t / "ref.bin").string()))
              .status == 0);
  return read_file(t / "ref.bin");
}

std::string command(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += " " + shell_quote(a);
  return s;
}

bool eventually_contains(const fs::path& file, const std::string& text) {
  for (int i = 0; i < 6000; ++i) {
    if (read_file(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// Runs the job under `run --resume` until `row` is printed, checkpoints it
// `images` times, then kills job and run as a node failure would.
void run_checkpoint_kill(const TempDir& t, int images) {
  RunningJob job(t / "img", matmul_argv(t), t / "o1", t / "e1", {"--resume"});
  REQUIRE(job.job_pid > 0);
  REQUIRE(eventually_contains(t / "e1", "row 128/"));
  // Paused between checkpoints: it cannot end before them on a fast machine.
  REQUIRE(ckptsim::test::pause_job(job.job_pid));
  for (int i = 0; i < images; ++i) REQUIRE(ckptsim::test::checkpoint_paused(job.job_pid, t / "img"));
  ::kill(job.run_pid, SIGKILL);
  ::kill(job.job_pid, SIGKILL);
  job.wait();
}

CmdResult resume(const TempDir& t) {
  return run_shell(shell_quote(kCkptsim) + " run --dir " + shell_quote((t / "img").string()) + " --resume --" +
                   command(matmul_argv(t)) + " 2> " + shell_quote((t / "e2").string()));
}

}  // namespace

TEST_CASE("run --resume starts a job afresh when its directory has no image, and says so") {
  TempDir t;
  const std::string expected = reference(t);
  const CmdResult r = resume(t);
  CHECK(r.status == 0);
  CHECK(read_file(t / "e2").rfind("ckptsim: run: no image in " + (t / "img").string() + " yet; starting", 0) == 0);
  CHECK(read_file(t / "out.bin") == expected);
}

TEST_CASE("run --resume brings a killed job back from its last image and it finishes byte-identical") {
  TempDir t;
  const std::string expected = reference(t);
  run_checkpoint_kill(t, 1);
  const CmdResult r = resume(t);
  INFO(read_file(t / "e2"));
  CHECK(r.status == 0);
  CHECK(read_file(t / "e2").find("ckptsim: run: resumed from " + (t / "img" / "ckpt-0001").string()) !=
        std::string::npos);
  CHECK(read_file(t / "e2").find("matrices ready") == std::string::npos);  // not a fresh start
  CHECK(read_file(t / "out.bin") == expected);
}

TEST_CASE("run --resume passes over a half-written or damaged newest image for the previous one") {
  TempDir t;
  const std::string expected = reference(t);
  run_checkpoint_kill(t, 2);
  fs::create_directory(t / "img" / ".tmp-ckpt-0003-1234");                // a dump cut short
  fs::remove(t / "img" / "ckpt-0002" / "manifest.json");                 // latest is torn
  const CmdResult r = resume(t);
  const std::string err = read_file(t / "e2");
  INFO(err);
  CHECK(r.status == 0);
  CHECK(err.find(".tmp-ckpt-0003-1234 is a half-written image; ignored") != std::string::npos);
  CHECK(err.find("ckpt-0002 is incomplete or damaged (no manifest.json); passed over") != std::string::npos);
  CHECK(err.find("resumed from " + (t / "img" / "ckpt-0001").string()) != std::string::npos);
  CHECK(read_file(t / "out.bin") == expected);
}

TEST_CASE("run --resume starts afresh when no image is complete, and when latest points at nothing") {
  TempDir t;
  const std::string expected = reference(t);
  run_checkpoint_kill(t, 1);
  fs::remove(t / "img" / "ckpt-0001" / "core");  // manifest reads, verification fails
  CmdResult r = resume(t);
  std::string err = read_file(t / "e2");
  INFO(err);
  CHECK(r.status == 0);
  CHECK(err.find("ckpt-0001 fails verification") != std::string::npos);
  CHECK(err.find("starting " + kMatmul + " afresh") != std::string::npos);
  CHECK(read_file(t / "out.bin") == expected);

  fs::remove_all(t / "img" / "ckpt-0001");
  fs::remove(t / "img" / "latest");
  fs::create_directory_symlink("ckpt-0009", t / "img" / "latest");
  r = resume(t);
  err = read_file(t / "e2");
  CHECK(r.status == 0);
  CHECK(err.find("latest points at ckpt-0009, which is not a complete image") != std::string::npos);
  CHECK(err.find("no complete image in") != std::string::npos);
}

TEST_CASE("run --resume refuses an image of another command in one line naming both") {
  TempDir t;
  run_checkpoint_kill(t, 1);
  const CmdResult r = run_shell(shell_quote(kCkptsim) + " run --dir " + shell_quote((t / "img").string()) +
                                " --resume -- " + shell_quote(kMatmul) + " --n 5 --out " +
                                shell_quote((t / "other.bin").string()));
  INFO(r.err);
  CHECK(r.status == 2);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("--n " + std::to_string(kOrder)) != std::string::npos);
  CHECK(r.err.find("--n 5 --out") != std::string::npos);
  CHECK(!fs::exists(t / "other.bin"));
}

TEST_CASE("run --checkpoint-on-term: SIGTERM checkpoints, stops the job, exits 75, and --resume finishes it") {
  TempDir t;
  const std::string expected = reference(t);
  {
    RunningJob job(t / "img", matmul_argv(t), t / "o1", t / "e1", {"--resume", "--checkpoint-on-term"});
    REQUIRE(job.job_pid > 0);
    REQUIRE(eventually_contains(t / "e1", "row 128/"));
    ::kill(job.run_pid, SIGTERM);
    CHECK(job.wait() == 75);
    CHECK(!process_alive(job.job_pid));
    CHECK(read_file(t / "e1").find("checkpointed to " + (t / "img" / "ckpt-0001").string()) != std::string::npos);
  }
  const CmdResult r = resume(t);
  INFO(read_file(t / "e2"));
  CHECK(r.status == 0);
  CHECK(read_file(t / "e2").find("resumed from " + (t / "img" / "ckpt-0001").string()) != std::string::npos);
  CHECK(read_file(t / "out.bin") == expected);
}

TEST_CASE("run: the checkpoint signal sent to run itself checkpoints the job, which carries on") {
  TempDir t;
  RunningJob job(t / "img", {"/bin/sleep", "30"}, t / "o1", t / "e1");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));
  ::kill(job.run_pid, SIGQUIT);
  CHECK(wait_for_file(t / "img" / "ckpt-0001" / "manifest.json", std::chrono::seconds(30)));
  CHECK(process_alive(job.job_pid));
  ::kill(job.run_pid, SIGTERM);
  CHECK(job.wait() == 128 + SIGTERM);
}

TEST_CASE("run --requeue needs --checkpoint-on-term") {
  const CmdResult r = run_shell(shell_quote(kCkptsim) + " run --requeue -- true");
  CHECK(r.status == 2);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(r.err.find("--checkpoint-on-term") != std::string::npos);
}
