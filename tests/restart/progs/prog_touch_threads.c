// For bench/bench-threads.sh: prog_touch with T threads (main included). Each
// thread first-touches 1/T of SIZE_MB (one buffer) and polls the gate; MARKER
// is created once all of them are polling. After GO each thread stamps the
// CLOCK_REALTIME at which it saw it and sleeps in a barrier until every thread
// has (so a thread that resumed early does not take the CPU from the late ones
// with its post-gate work); main then writes RESUMED: line 1 the latest stamp
// (every thread running again), line 2 main's own. Then every thread reads its
// slice back; main prints how long that took.
// Usage: prog_touch_threads SIZE_MB T MARKER GO RESUMED   (env PROBE_STACK_KB: thread stack size)
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gate.h"
#include "probe_stack.h"

#define MAX_THREADS 64


static int64_t now_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

struct slot {
  pthread_t id;
  unsigned char* mem;
  size_t bytes;
  int64_t resumed;
  uint64_t sum;
};
static struct slot slots[MAX_THREADS];
static const char* go;
static int polling;
static pthread_barrier_t stamped;

static void poll_gate(void) {
  while (access(go, F_OK) != 0) {
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, 0);
  }
}

static void* run(void* arg) {
  struct slot* s = arg;
  for (size_t i = 0; i < s->bytes; i += 64) s->mem[i] = (unsigned char)(i >> 6);
  __atomic_fetch_add(&polling, 1, __ATOMIC_ACQ_REL);
  poll_gate();
  s->resumed = now_ns(CLOCK_REALTIME);
  pthread_barrier_wait(&stamped);
  pthread_barrier_wait(&stamped);  /* main has written RESUMED */
  for (size_t i = 0; i < s->bytes; i += 4096) s->sum += s->mem[i];
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 6) return 2;
  const size_t n = (size_t)atol(argv[1]) << 20;
  const int nt = atoi(argv[2]);
  if (nt < 1 || nt > MAX_THREADS) return 2;
  go = argv[4];
  unsigned char* mem = malloc(n);
  if (!mem) return 1;
  const size_t slice = (n / (size_t)nt) & ~(size_t)4095;
  for (int i = 0; i < nt; ++i) {
    slots[i].mem = mem + (size_t)i * slice;
    slots[i].bytes = i == nt - 1 ? n - (size_t)i * slice : slice;
  }
  pthread_barrier_init(&stamped, 0, (unsigned)nt);
  for (int i = 1; i < nt; ++i)
    if (pthread_create(&slots[i].id, probe_stack_attr(), run, &slots[i]) != 0) return 1;
  for (size_t i = 0; i < slots[0].bytes; i += 64) slots[0].mem[i] = (unsigned char)(i >> 6);
  while (__atomic_load_n(&polling, __ATOMIC_ACQUIRE) != nt - 1) {
    struct timespec ts = {0, 200 * 1000};
    nanosleep(&ts, 0);
  }
  gate_announce(argv[3]);
  poll_gate();
  slots[0].resumed = now_ns(CLOCK_REALTIME);
  const int64_t t0 = now_ns(CLOCK_MONOTONIC);
  pthread_barrier_wait(&stamped);
  int64_t latest = 0;
  for (int i = 0; i < nt; ++i)
    if (slots[i].resumed > latest) latest = slots[i].resumed;
  FILE* f = fopen(argv[5], "w");
  if (!f) return 1;
  fprintf(f, "%lld\n%lld\n", (long long)latest, (long long)slots[0].resumed);
  fclose(f);
  pthread_barrier_wait(&stamped);
  for (size_t i = 0; i < slots[0].bytes; i += 4096) slots[0].sum += slots[0].mem[i];
  uint64_t sum = slots[0].sum;
  for (int i = 1; i < nt; ++i) {
    pthread_join(slots[i].id, 0);
    sum += slots[i].sum;
  }
  printf("sum %llu after %.6f s\n", (unsigned long long)sum, (now_ns(CLOCK_MONOTONIC) - t0) / 1e9);
  return 0;
}
