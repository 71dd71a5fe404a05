// Kernel objects at any fd number come back with their state: each program
// sets one kind up, stops at its gate, is checkpointed, killed and restored,
// then exercises the object; its output must equal an uninterrupted run's.
// Plus a real asyncio program restored twice from one image, and the objects
// that still cannot come back (refused, or /dev/null when asked).
#include <catch2/catch.hpp>

#include <algorithm>

#include "battery.h"

using namespace restart_test;

TEST_CASE("objects: a self-pipe and a FIFO keep their bytes, size and shared description") {
  check_case(Case{"prog_pipe", {}, {"stdout.txt"}});
}

TEST_CASE("objects: eventfd counters, semaphore mode and O_NONBLOCK") {
  check_case(Case{"prog_eventfd", {}, {"stdout.txt"}});
}

TEST_CASE("objects: an epoll interest list with data, edge/one-shot bits, and EPOLL_CTL_DEL") {
  check_case(Case{"prog_epoll", {}, {"stdout.txt"}});
}

TEST_CASE("objects: timerfds keep clock, interval and remaining time") {
  check_case(Case{"prog_timerfd", {}, {"stdout.txt"}});
}

TEST_CASE("objects: signalfd masks") {
  check_case(Case{"prog_signalfd", {}, {"stdout.txt"}});
}

TEST_CASE("objects: socket pairs with bytes queued both ways") {
  check_case(Case{"prog_socketpair", {}, {"stdout.txt"}});
}

TEST_CASE("objects: memfd (name, seals, offset, shared mappings), O_TMPFILE and unlinked files") {
  check_case(Case{"prog_memfd", {}, {"stdout.txt"}});
}

TEST_CASE("objects: a Python asyncio program, checkpointed at 40 %, killed at 60 %, restored twice") {
  REQUIRE(fs::exists("/usr/bin/python3"));
  check_real_program(RealProgram{{"/usr/bin/python3", std::string(CKPTSIM_SOURCE_DIR) + "/tests/restart/progs/asyncio_job.py", "OUT"}});
}

namespace {

// Starts PROG (which stops at its gate), checkpoints and kills it, opens the
// gate; returns the image.
std::string checkpoint_at_gate(const TempDir& dir, const std::string& program) {
  fs::create_directories(dir / "run");
  Redirect io;
  io.out = (dir / "run" / "stdout.txt").string();
  Job job = start_job(dir / "img", {prog(program), (dir / "marker").string(), (dir / "go").string()}, dir / "run", io);
  REQUIRE(eventually([&] { return fs::exists(dir / "marker"); }));
  REQUIRE(checkpoint(job.pid));
  kill_job(job);
  write_file(dir / "go", "");
  return (dir / "img" / "latest").string();
}

}  // namespace

TEST_CASE("objects: a pipe whose other end is another process is refused, or /dev/null when asked") {
  TempDir dir;
  const std::string image = checkpoint_at_gate(dir, "prog_foreign_pipe");
  RestartResult refused = restart({image}, dir / "run");
  CHECK(refused.status == 2);
  CHECK(refused.stderr_text.find("fd 3 is a pipe") != std::string::npos);
  CHECK(refused.stderr_text.find("other end is not in this process") != std::string::npos);
  CHECK(std::count(refused.stderr_text.begin(), refused.stderr_text.end(), '\n') == 1);
  // The pipe's writer (a detached shell outside the job) exits on its own once GO exists.
  CHECK(eventually([] { return processes_running(prog("prog_foreign_pipe")).empty(); }, std::chrono::seconds(30)));

  RestartResult skipped = restart({image, "--skip-unrestorable"}, dir / "run");
  INFO(skipped.stderr_text);
  CHECK(skipped.status == 0);
  CHECK(skipped.stderr_text.find("warning: fd 3") != std::string::npos);
  CHECK(read_file(dir / "run" / "stdout.txt") == "read from fd 3: 0\n");
}
