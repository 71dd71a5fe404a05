// The paper's job must be deterministic and compute the right product: every
// checkpoint test compares against it.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "util/subprocess.h"

namespace {
std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}
std::string tmp(const char* name) { return std::string("/tmp/ckptsim-test-") + std::to_string(getpid()) + name; }
// ckpt-matmul's exit status (its output, an error line at most, is not looked at).
int matmul(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {std::string(CKPTSIM_BUILD_DIR) + "/ckpt-matmul"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ckptsim::util::run_command(argv).status;
}
}  // namespace

TEST_CASE("ckpt-matmul writes A, B and A*B, deterministically") {
  const int n = 37;
  const std::string out1 = tmp("-m1"), out2 = tmp("-m2"), out3 = tmp("-m3");
  REQUIRE(matmul({"--n", "37", "--seed", "5", "--out", out1}) == 0);
  REQUIRE(matmul({"--n", "37", "--seed", "5", "--out", out2}) == 0);
  REQUIRE(matmul({"--n", "37", "--seed", "6", "--out", out3}) == 0);
  auto m1 = read_floats(out1), m2 = read_floats(out2), m3 = read_floats(out3);
  REQUIRE(m1.size() == 3u * n * n);
  CHECK(m1 == m2);
  CHECK(m1 != m3);
  const float* a = m1.data();
  const float* b = a + n * n;
  const float* c = b + n * n;
  for (int i = 0; i < n; i += 7)
    for (int j = 0; j < n; j += 5) {
      float s = 0;
      for (int k = 0; k < n; ++k) s += a[i * n + k] * b[k * n + j];
      CHECK(c[i * n + j] == Approx(s).epsilon(1e-5));
    }
  for (auto& p : {out1, out2, out3}) std::remove(p.c_str());
}

TEST_CASE("ckpt-matmul --threads N writes the same bytes as one thread") {
  const std::string one = tmp("-t1");
  REQUIRE(matmul({"--n", "301", "--seed", "3", "--out", one}) == 0);
  const auto expected = read_floats(one);
  REQUIRE(expected.size() == 3u * 301 * 301);
  for (int threads : {2, 3, 4}) {
    INFO(threads << " threads");
    const std::string out = tmp("-tn");
    REQUIRE(matmul({"--n", "301", "--seed", "3", "--threads", std::to_string(threads), "--out", out}) == 0);
    CHECK(read_floats(out) == expected);
    std::remove(out.c_str());
  }
  std::remove(one.c_str());
  CHECK(matmul({"--n", "10", "--threads", "0", "--out", "/tmp/x"}) != 0);
}

TEST_CASE("ckpt-matmul rejects bad input with one line and a non-zero exit") {
  CHECK(matmul({"--n", "0", "--out", "/tmp/x"}) != 0);
  CHECK(matmul({"--n", "10", "--out", "/nonexistent-dir/x"}) != 0);
}
