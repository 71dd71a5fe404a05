// `checkpoint --wait` on a job that ends while its forked writer (run's
// default) still writes the image: the checkpoint is complete, not "ended
// before the checkpoint was complete" (request.cpp waits while the writer
// holds the image directory's lock).
#include <signal.h>

#include <catch2/catch.hpp>
#include <string>

#include "test_helpers.h"

using namespace ckpttest;

namespace {

// What ckpt_probe quit-on-dump prints: its sample of the pattern it wrote.
std::string expected_sum(size_t mib) {
  unsigned long sum = 0;
  for (size_t i = 0; i < (mib << 20); i += 509) sum += static_cast<unsigned char>(i * 131 + (i >> 12));
  return "sum " + std::to_string(sum) + "\n";
}

}  // namespace

TEST_CASE("checkpoint --wait on a job that ends while its forked writer still writes reports the complete image") {
  // The job ends as soon as the library's handler returns (it sees the image
  // begun), while the writer has 400 MiB to write: the job's end always comes
  // first, so the command always sees it before the image is complete.
  constexpr size_t kMiB = 400;
  TempDir t;
  const fs::path img = t.path() / "img", ready = t.path() / "ready", out = t.path() / "stdout";
  RunningJob job(img, {CKPT_PROBE, "quit-on-dump", std::to_string(kMiB), img.string(), ready.string()}, out,
                 t.path() / "stderr");
  REQUIRE(job.job_pid > 0);
  REQUIRE(wait_for_file(ready));
  REQUIRE(wait_until_catching(job.job_pid, SIGQUIT));

  CmdResult r;
  const std::string image = checkpoint_wait(job.job_pid, &r);
  INFO("checkpoint --wait: " << r.status << " " << r.err);
  CHECK(r.status == 0);
  CHECK(r.err.empty());
  CHECK(image == (img / "ckpt-0001").string());  // the path printed: the image is complete
  CHECK(job.wait() == 0);
  const std::string err = read_file(t.path() / "stderr");
  INFO(err);
  // The race this is about took place: the job ended with its writer still at work.
  REQUIRE(err.find("ended while its writer was still writing\n") != std::string::npos);
  CHECK(err.find("dumps are forked") != std::string::npos);
  const std::string sum = read_file(out);
  CHECK(sum == expected_sum(kMiB));

  REQUIRE(fs::read_symlink(img / "latest") == "ckpt-0001");
  CHECK(check_image(img / "ckpt-0001").hashes_ok);
  // Restored, the job finds its image and ends as the original did.
  fs::resize_file(out, 0);
  const CmdResult restored = run_shell(shell_quote(kCkptsim) + " restart " + shell_quote((img / "latest").string()));
  INFO("restart: " << restored.err);
  CHECK(restored.status == 0);
  CHECK(read_file(out) == sum);
}
