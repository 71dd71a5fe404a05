// Two eventfds: a semaphore one (each read takes 1) and a plain counter, at
// fd numbers above 3, with O_NONBLOCK on one only.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const int sem = dup2(eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK), 20);
  const int counter = dup2(eventfd(0, 0), 21);
  uint64_t add = 1000000007ull * 5;  // beyond 32 bits: eventfd()'s initial value could not carry it
  if (write(counter, &add, sizeof add) != sizeof add) return 1;

  gate(argv[1], argv[2]);

  printf("semaphore nonblocking: %d, counter nonblocking: %d\n", !!(fcntl(sem, F_GETFL) & O_NONBLOCK),
         !!(fcntl(counter, F_GETFL) & O_NONBLOCK));
  uint64_t v;
  int reads = 0;
  while (read(sem, &v, sizeof v) == sizeof v) printf("semaphore read %d: %llu\n", ++reads, (unsigned long long)v);
  if (read(counter, &v, sizeof v) != sizeof v) return 1;
  printf("counter: %llu\n", (unsigned long long)v);
  v = 2;
  if (write(sem, &v, sizeof v) != sizeof v) return 1;
  reads = 0;
  while (read(sem, &v, sizeof v) == sizeof v) ++reads;
  printf("semaphore reads after adding 2: %d\n", reads);
  return 0;
}
