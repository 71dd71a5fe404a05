/* ckpt_bare_fork: the raw limit of a forked dump's stop, for the benchmarks
 * (bench/bench-dirty.sh, bench/bench-tree.sh). A forked dump stops the job at
 * least for its fork, and a fork's cost grows with the memory it maps (its
 * page tables are copied): this times nothing but that fork, of processes
 * holding the memory a benchmark's job holds.
 *   ckpt_bare_fork MB PROCS ROUNDS [FILLED_EIGHTHS]
 * PROCS processes each map MB MiB and fill the first FILLED_EIGHTHS/8 of it
 * (default 8: all; prog_dirty fills 7/8). In each of ROUNDS rounds they all
 * fork at once, as a tree dump's members do, with the library's raw clone (no
 * exit signal, no atfork handlers), and the child exits at once. A round's
 * time is its slowest fork; prints "bare_fork_s BEST MEDIAN" over the rounds. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int read_full(int fd, void* buf, size_t n) {
  for (size_t got = 0; got < n;) {
    const ssize_t r = read(fd, (char*)buf + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* One process holding the memory: waits for each round's go, forks, says how long the fork took. */
static int holder(size_t bytes, size_t filled, int go, int result, int rounds) {
  unsigned char* p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (size_t i = 0; i < filled; ++i) p[i] = (unsigned char)(i * 131 + (i >> 12));
  const char ready = 'r';
  if (write(result, &ready, 1) != 1) return 1;
  for (int r = 0; r < rounds; ++r) {
    char c;
    if (read_full(go, &c, 1) != 0) return 1;
    const uint64_t t0 = now_ns();
    const long child = syscall(SYS_clone, 0 /* no exit signal, as the library's writer */, 0, 0, 0, 0);
    if (child == 0) syscall(SYS_exit_group, 0);
    const uint64_t took = now_ns() - t0;
    if (child < 0) return 1;
    waitpid((pid_t)child, NULL, __WALL);
    if (write(result, &took, sizeof took) != (ssize_t)sizeof took) return 1;
  }
  return p[filled ? filled - 1 : 0] == 0xff ? 3 : 0;  /* the memory stays live to the end */
}

static int by_value(const void* a, const void* b) {
  const uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  const long mb = argc >= 4 ? atol(argv[1]) : 0, procs = argc >= 4 ? atol(argv[2]) : 0;
  const long rounds = argc >= 4 ? atol(argv[3]) : 0, eighths = argc == 5 ? atol(argv[4]) : 8;
  if (argc < 4 || argc > 5 || mb <= 0 || procs <= 0 || procs > 256 || rounds <= 0 || rounds > 1000 || eighths < 0 ||
      eighths > 8) {
    fprintf(stderr, "usage: ckpt_bare_fork MB PROCS ROUNDS [FILLED_EIGHTHS 0-8]\n");
    return 2;
  }
  const size_t bytes = (size_t)mb << 20, filled = bytes / 8 * (size_t)eighths;
  int go[256][2], result[2];  /* a go pipe each: a quick one must not take another's go */
  if (pipe(result) != 0) return 1;
  for (long i = 0; i < procs; ++i) {
    if (pipe(go[i]) != 0) return 1;
    const pid_t k = fork();
    if (k < 0) return 1;
    if (k == 0) {
      close(go[i][1]);
      close(result[0]);
      _exit(holder(bytes, filled, go[i][0], result[1], (int)rounds));
    }
    close(go[i][0]);
  }
  close(result[1]);
  for (long i = 0; i < procs; ++i) {
    char c;
    if (read_full(result[0], &c, 1) != 0) return 1;
  }
  uint64_t* slowest = calloc((size_t)rounds, sizeof *slowest);
  if (!slowest) return 1;
  for (long r = 0; r < rounds; ++r) {
    usleep(20000);  /* the last round's children are gone */
    for (long i = 0; i < procs; ++i)
      if (write(go[i][1], "g", 1) != 1) return 1;
    for (long i = 0; i < procs; ++i) {
      uint64_t took;
      if (read_full(result[0], &took, sizeof took) != 0) return 1;
      if (took > slowest[r]) slowest[r] = took;
    }
  }
  int failed = 0;
  for (long i = 0; i < procs; ++i) {
    int status = 0;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  if (failed) {
    fprintf(stderr, "ckpt_bare_fork: a process holding the memory failed\n");
    return 1;
  }
  qsort(slowest, (size_t)rounds, sizeof *slowest, by_value);
  printf("bare_fork_s %.6f %.6f\n", slowest[0] / 1e9, slowest[rounds / 2] / 1e9);
  free(slowest);
  return 0;
}
