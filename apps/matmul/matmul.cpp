// ckpt-matmul: the paper's test job. Fills two N x N float matrices from a
// seeded generator, writes both to FILE, multiplies them with a plain
// sequential loop (no BLAS, on purpose: the job must behave like the paper's),
// appends the product to FILE and exits 0. With --threads T, T threads take
// rows in turn; each row is computed exactly as alone, so the bytes are the same. It knows nothing about checkpoints: it is the
// "unmodified program" the checkpoint library is preloaded into.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace {

// splitmix64: tiny, fully specified, so the matrices are identical for a given
// seed on every machine and library version (std::uniform_real_distribution is not).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  float unit() { return static_cast<float>(next() >> 40) / static_cast<float>(1 << 24); }
};

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

bool write_matrix(FILE* out, const std::vector<float>& m) {
  return std::fwrite(m.data(), sizeof(float), m.size(), out) == m.size();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ckpt-matmul: the paper's sequential float matrix multiplication job"};
  long n = 0;
  std::string out_path;
  uint64_t seed = 1;
  bool progress = false;
  bool stop_when_ready = false;
  unsigned threads = 1;
  app.add_option("--n", n, "matrix order")->required()->check(CLI::Range(1L, 100000L));
  app.add_option("--threads", threads, "threads multiplying (rows in turn); same output for any count")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--out", out_path, "output file (A, B, then A*B as raw floats)")->required();
  app.add_option("--seed", seed, "random seed");
  app.add_flag("--progress", progress, "report progress on stderr");
  app.add_flag("--stop-when-ready", stop_when_ready,
               "stop (SIGSTOP) once the matrices are built and written, until SIGCONT");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "ckpt-matmul: %s\n", e.what());
    return 2;
  }

  const size_t order = static_cast<size_t>(n);
  std::unique_ptr<FILE, FileCloser> out(std::fopen(out_path.c_str(), "wb"));
  if (!out) {
    std::fprintf(stderr, "ckpt-matmul: cannot open %s: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }
  std::vector<float> a(order * order), b(order * order), c(order * order, 0.0f);
  SplitMix64 rng{seed};
  for (auto& x : a) x = rng.unit();
  for (auto& x : b) x = rng.unit();
  if (!write_matrix(out.get(), a) || !write_matrix(out.get(), b) || std::fflush(out.get()) != 0) {
    std::fprintf(stderr, "ckpt-matmul: writing %s failed: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }
  if (progress) std::fprintf(stderr, "matrices ready\n");
  // For a measuring harness: at small orders the multiplication lasts only
  // milliseconds, so a stop sent from outside on "matrices ready" can arrive
  // after the job has already finished. Stopping itself closes that race.
  if (stop_when_ready) kill(getpid(), SIGSTOP);

  std::atomic<size_t> next_row{0}, rows_done{0};
  auto multiply_rows = [&] {
    for (size_t i; (i = next_row.fetch_add(1)) < order;) {
      float* ci = &c[i * order];
      for (size_t k = 0; k < order; ++k) {
        const float aik = a[i * order + k];
        const float* bk = &b[k * order];
        for (size_t j = 0; j < order; ++j) ci[j] += aik * bk[j];
      }
      const size_t done = rows_done.fetch_add(1) + 1;
      if (progress && done % 64 == 0) std::fprintf(stderr, "row %zu/%zu\n", done, order);
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads; ++t) helpers.emplace_back(multiply_rows);
  multiply_rows();
  for (auto& t : helpers) t.join();

  if (!write_matrix(out.get(), c) || std::fclose(out.release()) != 0) {
    std::fprintf(stderr, "ckpt-matmul: writing %s failed: %s\n", out_path.c_str(), std::strerror(errno));
    return 1;
  }
  if (progress) std::fprintf(stderr, "done\n");
  return 0;
}
