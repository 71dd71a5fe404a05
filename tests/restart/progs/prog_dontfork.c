// Memory a fork does not copy: an anonymous mapping marked MADV_DONTFORK (as
// node/V8 marks its own), filled with a pattern, and a small one next to an
// ordinary mapping. A forked dump must hold them all the same, and the job
// must still keep them out of its own forks after the restore.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate.h"

static uint64_t sum(const unsigned char* p, size_t n) {
  uint64_t s = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) s = (s ^ p[i]) * 1099511628211ull;
  return s;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const size_t big = 8u << 20, small = 3 * 4096;
  unsigned char* a = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  // The small one: the middle of a larger mapping (madvise splits it).
  unsigned char* b = mmap(NULL, 3 * small, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (a == MAP_FAILED || b == MAP_FAILED) return 1;
  for (size_t i = 0; i < big; ++i) a[i] = (unsigned char)(i * 7 + i / 4096);
  for (size_t i = 0; i < 3 * small; ++i) b[i] = (unsigned char)(i * 13 + 5);
  if (madvise(a, big, MADV_DONTFORK) != 0 || madvise(b + small, small, MADV_DONTFORK) != 0) return 1;

  gate(argv[1], argv[2]);

  printf("big %016llx small %016llx\n", (unsigned long long)sum(a, big), (unsigned long long)sum(b, 3 * small));
  fflush(stdout);
  // A child of the restored job does not have them (touching one faults).
  const pid_t c = fork();
  if (c == 0) {
    unsigned char vec;
    _exit(mincore(a, 4096, &vec) == 0 ? 3 : 0);
  }
  int status = 0;
  waitpid(c, &status, 0);
  printf("a fork %s the marked mapping\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "lacks" : "has");
  return 0;
}
