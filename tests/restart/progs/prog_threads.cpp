// Four threads in two ping-pong pairs (a mutex and a condition variable per
// pair), each computing with AVX between turns. At the gate (checkpoint time):
// threads 0 and 3 spin with values held in ymm8-ymm15, thread 3 holding a
// mutex that thread 1 is blocked on, thread 2 waits on a condition variable,
// and main waits at the gate, then in pthread_join. Everything printed at the
// end is deterministic: the same bytes with or without a checkpoint.
//   prog_threads MARKER GO ROUNDS   (MARKER "-": no gate)
#include <immintrin.h>
#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "gate.h"

namespace {

struct Pair {
  std::mutex m;
  std::condition_variable cv;
  int turn = 0;  // 0: the even thread's turn, 1: the odd one's
  long long exchanges = 0;
};

Pair pairs[2];
std::atomic<int> ready{0};
std::mutex go_m;
std::condition_variable go_cv;
bool go = false;
volatile int go_flag = 0;
std::mutex held;  // thread 3 holds it across the gate; thread 1 waits for it

struct Result {
  double sum[4];
  bool ymm_kept = true;
  long long exchanges = 0;
};
Result results[4];

// ymm8-ymm15 loaded before the spin and stored after it: any change to them
// while the thread was stopped, dumped and restored shows in `out`.
void spin_with_live_ymm(const double* in, double* out) {
  __asm__ volatile(
      "vmovupd 0(%0), %%ymm8\n\t"
      "vmovupd 32(%0), %%ymm9\n\t"
      "vmovupd 64(%0), %%ymm10\n\t"
      "vmovupd 96(%0), %%ymm11\n\t"
      "vmovupd 128(%0), %%ymm12\n\t"
      "vmovupd 160(%0), %%ymm13\n\t"
      "vmovupd 192(%0), %%ymm14\n\t"
      "vmovupd 224(%0), %%ymm15\n\t"
      "1: pause\n\t"
      "cmpl $0, (%2)\n\t"
      "je 1b\n\t"
      "vmovupd %%ymm8, 0(%1)\n\t"
      "vmovupd %%ymm9, 32(%1)\n\t"
      "vmovupd %%ymm10, 64(%1)\n\t"
      "vmovupd %%ymm11, 96(%1)\n\t"
      "vmovupd %%ymm12, 128(%1)\n\t"
      "vmovupd %%ymm13, 160(%1)\n\t"
      "vmovupd %%ymm14, 192(%1)\n\t"
      "vmovupd %%ymm15, 224(%1)\n\t"
      :
      : "r"(in), "r"(out), "r"(&go_flag)
      : "memory", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

void ping_pong(int k, int rounds, __m256d& acc) {
  Pair& p = pairs[k / 2];
  const int me = k % 2;
  for (int r = 0; r < rounds; ++r) {
    std::unique_lock<std::mutex> lock(p.m);
    p.cv.wait(lock, [&] { return p.turn == me; });
    const __m256d step = _mm256_set_pd(r * 0.25, r * 0.5, r + 1.0, k + 1.0);
    for (int i = 0; i < 200; ++i) acc = _mm256_fmadd_pd(acc, _mm256_set1_pd(0.999999), step);
    ++p.exchanges;
    p.turn = 1 - me;
    p.cv.notify_one();
  }
}

void worker(int k, int rounds) {
  __m256d acc = _mm256_set1_pd(k);
  ping_pong(k, rounds, acc);
  if (k == 3) held.lock();
  ++ready;
  if (k == 0 || k == 3) {
    double in[32], out[32];
    for (int i = 0; i < 32; ++i) in[i] = k * 100.0 + i * 1.25;
    spin_with_live_ymm(in, out);
    results[k].ymm_kept = std::memcmp(in, out, sizeof in) == 0;
    if (k == 3) held.unlock();
  } else if (k == 1) {
    held.lock();  // blocked in the mutex until thread 3 lets go
    held.unlock();
  } else {
    std::unique_lock<std::mutex> lock(go_m);
    go_cv.wait(lock, [] { return go; });
  }
  ping_pong(k, rounds, acc);
  alignas(32) double v[4];
  _mm256_store_pd(v, acc);
  for (int i = 0; i < 4; ++i) results[k].sum[i] = v[i];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: prog_threads MARKER GO ROUNDS\n");
    return 2;
  }
  const bool gated = std::strcmp(argv[1], "-") != 0;
  const int rounds = std::atoi(argv[3]);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) threads.emplace_back(worker, k, rounds);
  while (ready.load() < 4) std::this_thread::yield();
  if (gated) gate(argv[1], argv[2]);
  {
    std::lock_guard<std::mutex> lock(go_m);
    go = true;
  }
  go_cv.notify_all();
  go_flag = 1;
  for (auto& t : threads) t.join();
  for (int k = 0; k < 4; ++k)
    std::printf("thread %d: %.17g %.17g %.17g %.17g ymm %s\n", k, results[k].sum[0], results[k].sum[1],
                results[k].sum[2], results[k].sum[3], results[k].ymm_kept ? "kept" : "CHANGED");
  std::printf("exchanges %lld %lld\n", pairs[0].exchanges, pairs[1].exchanges);
  return 0;
}
