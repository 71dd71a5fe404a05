// Bad input to `ckptsim calibrate`: one clear line on stderr, exit 2, nothing measured.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <utility>
#include <vector>

#include "test_helpers.h"

using calib_test::run_ckptsim;

namespace {
// A loopback port nobody listens on (bound, then released).
int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}
}  // namespace

TEST_CASE("calibrate rejects bad --sizes with one line and exit 2", "[cli]") {
  calib_test::TempDir tmp;
  const auto out = (tmp.path() / "p.json").string();
  for (const std::string spec : {"600:200", "0:100", "abc", "100:200:0", "100:x", "", "100,,200", "-5:100"}) {
    INFO("--sizes '" << spec << "'");
    auto r = run_ckptsim({"calibrate", "--sizes", spec, "--out", out}, tmp.path());
    CHECK(r.status == 2);
    CHECK(r.err_lines() == 1);
    CHECK(r.err.find("ckptsim: calibrate") == 0);
    CHECK_FALSE(std::filesystem::exists(out));
  }
}

TEST_CASE("calibrate rejects bad --reps, --copy and --plot with exit 2", "[cli]") {
  calib_test::TempDir tmp;
  const auto out = (tmp.path() / "p.json").string();
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--reps", "0"}, {"--copy", "nohost"}, {"--copy", "127.0.0.1:99999"}, {"--plot", "x.jpg"}}) {
    std::vector<std::string> all = {"calibrate", "--sizes", "200:400:200", "--out", out};
    all.insert(all.end(), args.begin(), args.end());
    INFO(args[0] << " " << args[1]);
    auto r = run_ckptsim(all, tmp.path());
    CHECK(r.status == 2);
    CHECK(r.err_lines() == 1);
    CHECK_FALSE(std::filesystem::exists(out));
  }
}

TEST_CASE("calibrate --copy to an unreachable HOST:PORT fails at once with exit 2", "[cli]") {
  calib_test::TempDir tmp;
  const auto out = (tmp.path() / "p.json").string();
  const std::string to = "127.0.0.1:" + std::to_string(free_port());
  auto r = run_ckptsim({"calibrate", "--sizes", "200:400:200", "--reps", "1", "--copy", to, "--out", out,
                        "--no-disk-probe", "--compute-sizes", "100,200,300"},
                       tmp.path());
  CHECK(r.status == 2);
  CHECK(r.err_lines() == 1);
  CHECK(r.err.find("cannot reach " + to) != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("calibrate without --sizes says so", "[cli]") {
  calib_test::TempDir tmp;
  auto r = run_ckptsim({"calibrate"}, tmp.path());
  CHECK(r.status == 2);
  CHECK(r.err.find("--sizes") != std::string::npos);
}

TEST_CASE("calibrate refuses orders beyond memory, an unwritable --out and a missing --work-dir before measuring",
          "[cli]") {
  calib_test::TempDir tmp;
  const auto out = (tmp.path() / "p.json").string();
  const auto missing = tmp.path() / "missing" / "dir";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      // ckpt-matmul --n 99999 holds 3 x 99999^2 floats, about 120 GB.
      {{"--verify-order", "99999"}, "of memory"},
      {{"--compute-sizes", "300,99999"}, "of memory"},
      {{"--sizes", "99999"}, "of memory"},
      {{"--verify-order", "0"}, "--verify-order"},
      {{"--out", "/nonexistent/dir/p.json"}, "does not exist"},
      {{"--out", tmp.path().string()}, "is a directory"},
      {{"--out", "/proc/p.json"}, "cannot write"},
      {{"--work-dir", missing.string()}, "--work-dir"},
  };
  for (const auto& [args, says] : cases) {
    std::vector<std::string> all = {"calibrate", "--reps", "1", "--no-disk-probe", "--copy", "loopback"};
    if (args[0] != "--sizes") all.insert(all.end(), {"--sizes", "200:400:200"});
    if (args[0] != "--out") all.insert(all.end(), {"--out", out});
    all.insert(all.end(), args.begin(), args.end());
    INFO(args[0] << " " << args[1]);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_ckptsim(all, tmp.path());
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO("stderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(r.err_lines() == 1);
    CHECK(r.err.find(says) != std::string::npos);
    CHECK(took < 5);
    CHECK_FALSE(std::filesystem::exists(out));
  }
  CHECK_FALSE(std::filesystem::exists(missing));
}
