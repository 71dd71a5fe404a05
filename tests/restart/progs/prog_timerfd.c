// A periodic CLOCK_MONOTONIC timerfd (100 ms), a disarmed CLOCK_REALTIME one
// and a far-off CLOCK_BOOTTIME one. After the restore the periodic one still
// ticks at its interval, the disarmed one stays disarmed, the far one keeps
// its clock and most of its time.
#include <stdint.h>
#include <stdio.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "gate.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const int periodic = dup2(timerfd_create(CLOCK_MONOTONIC, 0), 30);
  const int disarmed = dup2(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK), 31);
  const int far = dup2(timerfd_create(CLOCK_BOOTTIME, 0), 32);
  struct itimerspec its = {{0, 100000000}, {0, 100000000}};
  timerfd_settime(periodic, 0, &its, NULL);
  struct itimerspec far_its = {{0, 0}, {1000, 0}};
  timerfd_settime(far, 0, &far_its, NULL);

  gate(argv[1], argv[2]);

  struct itimerspec cur;
  timerfd_gettime(periodic, &cur);
  printf("periodic interval %ld.%09ld\n", (long)cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
  uint64_t n;
  if (read(periodic, &n, sizeof n) != sizeof n) return 1;
  const double start = now();
  uint64_t total = 0;
  while (total < 5) {
    if (read(periodic, &n, sizeof n) != sizeof n) return 1;
    total += n;
  }
  const double elapsed = now() - start;
  printf("5 expirations after the first took %s\n", elapsed > 0.4 && elapsed < 2.0 ? "about 5 intervals" : "wrong time");
  timerfd_gettime(disarmed, &cur);
  printf("disarmed: %s, read: %zd\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 ? "yes" : "no",
         read(disarmed, &n, sizeof n));
  timerfd_gettime(far, &cur);
  printf("far timer: %s\n", cur.it_value.tv_sec > 900 && cur.it_value.tv_sec <= 1000 ? "still ~1000 s away" : "wrong");
  return 0;
}
