// The battery: small programs, each checkpointed at its gate mid-run, killed,
// its output files scribbled on (what a killed run may have written after the
// checkpoint), restored, and compared byte for byte with an uninterrupted run.
#include <catch2/catch.hpp>

#include <functional>

#include "harness.h"

using namespace restart_test;

namespace {

struct Case {
  Case(std::string p, std::vector<std::string> a, std::vector<std::string> o)
      : prog(std::move(p)), args(std::move(a)), outputs(std::move(o)) {}
  std::string prog;
  std::vector<std::string> args;     // after MARKER GO
  std::vector<std::string> outputs;  // files (relative to the run directory) to compare
  std::function<void(const fs::path&)> setup = [](const fs::path&) {};
  std::string stdin_file;            // relative, or empty
};

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

}  // namespace

TEST_CASE("C stdio: a buffered FILE* and stdout redirected to a file") {
  check_case(Case{"prog_stdio", {"lines.txt"}, {"lines.txt", "stdout.txt"}});
}

TEST_CASE("C++ iostreams, and an exception thrown after the restore") {
  check_case(Case{"prog_iostream", {"log.txt"}, {"log.txt", "stdout.txt"}});
}

TEST_CASE("clock_gettime/gettimeofday through the vdso keep working") {
  check_case(Case{"prog_clock", {}, {"stdout.txt"}});
}

TEST_CASE("the program's own signal handler and blocked signals survive") {
  check_case(Case{"prog_signals", {}, {"stdout.txt"}});
}

TEST_CASE("AVX/SSE values live in registers across the checkpoint") {
  check_case(Case{"prog_avx", {}, {"stdout.txt"}});
}

TEST_CASE("large malloc, anonymous mmap, private and shared file mappings") {
  Case c{"prog_memory", {"shared.bin", "private.bin"}, {"stdout.txt", "shared.bin"}};
  c.setup = [](const fs::path& cwd) {
    std::string shared(3 << 20, '\0'), priv(1 << 20, '\0');
    for (size_t i = 0; i < shared.size(); ++i) shared[i] = static_cast<char>(i * 7 + (i >> 12));
    for (size_t i = 0; i < priv.size(); ++i) priv[i] = static_cast<char>(i * 11 + 3);
    write_file(cwd / "shared.bin", shared);
    write_file(cwd / "private.bin", priv);
  };
  check_case(c);
}

TEST_CASE("a chdir during the run") {
  Case c{"prog_chdir", {}, {"a/f1", "b/f2"}};
  c.setup = [](const fs::path& cwd) {
    fs::create_directories(cwd / "a");
    fs::create_directories(cwd / "b");
  };
  check_case(c);
}

TEST_CASE("an input file and stdin read part-way") {
  Case c{"prog_input", {"input.txt"}, {"stdout.txt"}};
  c.stdin_file = "stdin.txt";
  c.setup = [](const fs::path& cwd) {
    std::string in, sin;
    for (int i = 0; i < 9000; ++i) in += "input line " + std::to_string(i) + " of the part-way test\n";
    for (int i = 0; i < 300; ++i) sin += "stdin line " + std::to_string(i) + "\n";
    write_file(cwd / "input.txt", in);
    write_file(cwd / "stdin.txt", sin);
  };
  check_case(c);
}
