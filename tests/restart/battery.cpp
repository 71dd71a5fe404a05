#include "battery.h"

#include <catch2/catch.hpp>

namespace restart_test {
namespace {

// Runs the case in `dir`: uninterrupted (GO exists from the start) when
// checkpointed is false. Returns the program's (or restarter's) status.
int run_case(const Case& c, const fs::path& dir, bool checkpointed) {
  fs::create_directories(dir / "run");
  const fs::path cwd = dir / "run";
  c.setup(cwd);
  const fs::path marker = dir / "marker", go = dir / "go";
  if (!checkpointed) write_file(go, "");
  std::vector<std::string> argv{prog(c.prog), marker.string(), go.string()};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  Redirect io;
  io.out = (cwd / "stdout.txt").string();
  io.err = (dir / "stderr.txt").string();
  if (!c.stdin_file.empty()) io.in = (cwd / c.stdin_file).string();
  if (!checkpointed) return run(argv, cwd, io);

  Job job = start_job(dir / "img", argv, cwd, io);
  REQUIRE(eventually([&] { return fs::exists(marker); }));
  REQUIRE(checkpoint(job.pid));
  kill_job(job);
  for (const auto& out : c.outputs)
    if (fs::exists(cwd / out)) append_file(cwd / out, "WRITTEN AFTER THE CHECKPOINT BY THE KILLED RUN\n");
  write_file(go, "");
  // The restarter's own stdout is /dev/null: the program's stdout must be
  // reconnected to stdout.txt at its saved offset, not inherited.
  RestartResult r = restart({(dir / "img" / "latest").string()}, cwd);
  INFO("restart stderr: " << r.stderr_text << "\nprogram stderr: " << read_file(dir / "stderr.txt"));
  return r.status;
}

}  // namespace

void check_case(const Case& c) {
  TempDir ref, ckpt;
  const int ref_status = run_case(c, ref.path(), false);
  const int status = run_case(c, ckpt.path(), true);
  INFO("program stderr: " << read_file(ckpt / "stderr.txt"));
  CHECK(status == ref_status);
  CHECK(ref_status == 0);
  for (const auto& out : c.outputs) {
    INFO("output " << out);
    const std::string expected = read_file(ref / "run" / out);
    CHECK(!expected.empty());
    CHECK(read_file(ckpt / "run" / out) == expected);
  }
}

}  // namespace restart_test
