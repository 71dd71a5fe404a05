// An order of ckpt-matmul whose uninterrupted run takes at least min_s on this
// machine, from `order` up, and that run's output: the Slurm tests act on the
// job while it runs, so on a faster machine the job must be bigger, not the
// test's waits shorter. (Capped at order 12000, 1.7 GB of matrices.)
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <string>

#include "test_helpers.h"

namespace ckpttest {

struct SizedJob {
  int order;
  std::string expected;
};

inline SizedJob sized_job(const TempDir& t, int order, double min_s) {
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(run_shell(kMatmul + " --n " + std::to_string(order) + " --out " + (t / "ref.bin").string()).status == 0);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (took >= min_s || order >= 12000) return {order, read_file(t / "ref.bin")};
    order = std::min(12000, int(std::ceil(order * std::cbrt(1.3 * min_s / std::max(took, 0.05)))));
  }
}

}  // namespace ckpttest
