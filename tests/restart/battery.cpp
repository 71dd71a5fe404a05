#include "battery.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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

namespace {

std::vector<std::string> with_output(std::vector<std::string> argv, const fs::path& out) {
  for (auto& a : argv)
    if (a == "OUT") a = out.string();
  return argv;
}

uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

// The size the image recorded for the job's open file `path`: the output at
// the checkpoint itself (a forked dump's job has written on by the time its
// image is complete, so the file's size then says nothing).
uint64_t size_in_image(const fs::path& image, const fs::path& path) {
  const auto m = nlohmann::json::parse(read_file(image / "manifest.json"));
  for (const auto& fd : m.at("fds"))
    if (fd.value("path", "") == path.string() && fd.contains("size")) return fd.at("size").get<uint64_t>();
  return 0;
}

}  // namespace

void check_real_program(const RealProgram& p) {
  TempDir ref, dir;
  p.setup(ref.path());
  Redirect ref_io;
  ref_io.err = (ref / "stderr.txt").string();
  REQUIRE(run(with_output(p.argv, ref / "out"), ref.path(), ref_io) == 0);
  const std::string expected = read_file(ref / "out");
  const uint64_t total = expected.size();
  REQUIRE(total > 0);

  fs::create_directories(dir / "run");
  p.setup(dir / "run");
  Redirect io;
  io.err = (dir / "stderr.txt").string();
  const fs::path out = dir / "run" / "out";
  Job job = start_job(dir / "img", with_output(p.argv, out), dir / "run", io, p.run_options);
  REQUIRE(eventually([&] { return size_of(out) >= total * 4 / 10; }));
  REQUIRE(checkpoint(job.pid));
  const uint64_t at_checkpoint = size_in_image(dir / "img" / "latest", out);
  REQUIRE(eventually([&] { return size_of(out) >= total * 6 / 10; }));
  kill_job(job);
  INFO("bytes at the checkpoint " << at_checkpoint << " of " << total);
  CHECK(at_checkpoint >= total * 4 / 10);
  CHECK(at_checkpoint < total * 6 / 10);

  for (int round = 0; round < 2; ++round) {
    RestartResult r = restart({(dir / "img" / "latest").string()}, dir / "run");
    INFO("round " << round << ", restart stderr: " << r.stderr_text << "\njob stderr: " << read_file(dir / "stderr.txt"));
    CHECK(r.status == 0);
    CHECK(read_file(out) == expected);
  }
}

}  // namespace restart_test
