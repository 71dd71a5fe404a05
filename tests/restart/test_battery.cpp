// The battery: small programs, each checkpointed at its gate mid-run, killed,
// its output files scribbled on (what a killed run may have written after the
// checkpoint), restored, and compared byte for byte with an uninterrupted run.
#include <catch2/catch.hpp>

#include "battery.h"

using namespace restart_test;

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

// A forked dump (run's default) writes from a fork, which lacks such memory:
// the library finds it missing and forks again with it (fork_snapshot.cpp).
TEST_CASE("memory kept out of forks (MADV_DONTFORK) is in a forked image, and still out of the restored job's forks") {
  check_case(Case{"prog_dontfork", {}, {"stdout.txt"}});
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
