// clock_gettime/gettimeofday in a loop: served by the vdso, which reads the
// kernel's [vvar] pages, so both must be at the image's addresses again.
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "gate.h"

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  struct timespec prev, now;
  clock_gettime(CLOCK_MONOTONIC, &prev);
  long backwards = 0, calls = 0;
  int gated = 0;
  gate_announce(argv[1]);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    ++calls;
    if (ns(now) < ns(prev)) ++backwards;
    prev = now;
    struct timeval tv;
    gettimeofday(&tv, 0);
    if (tv.tv_sec < 1600000000) ++backwards;
    if (!gated && access(argv[2], F_OK) == 0) gated = 1;
    if (gated && calls > 200000) break;
    if (!gated) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, 0);
    }
  }
  struct timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  printf("clock went backwards %ld times\n", backwards);
  printf("realtime sane: %s\n", real.tv_sec > 1600000000 ? "yes" : "no");
  printf("time() agrees: %s\n", (time(0) - real.tv_sec) <= 1 ? "yes" : "no");
  return 0;
}
