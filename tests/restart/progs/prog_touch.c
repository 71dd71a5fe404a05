// For bench/bench-restore.sh: fills SIZE_MB of memory, stops at the gate,
// then (after GO) writes the CLOCK_REALTIME it resumed at into RESUMED, reads
// every page back and prints how long that second half took.
// Usage: prog_touch SIZE_MB MARKER GO RESUMED
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gate.h"

static int64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const size_t n = (size_t)atol(argv[1]) << 20;
  unsigned char* mem = malloc(n);
  if (!mem) return 1;
  for (size_t i = 0; i < n; i += 64) mem[i] = (unsigned char)(i >> 6);
  gate_announce(argv[2]);
  while (access(argv[3], F_OK) != 0) {
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, 0);
  }
  const int64_t resumed = now_ns(CLOCK_REALTIME), t0 = now_ns(CLOCK_MONOTONIC);
  FILE* f = fopen(argv[4], "w");
  if (!f) return 1;
  fprintf(f, "%lld\n", (long long)resumed);
  fclose(f);
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i += 4096) sum += mem[i];
  printf("sum %llu after %.6f s\n", (unsigned long long)sum, (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
  return 0;
}
