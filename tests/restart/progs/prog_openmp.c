/* An OpenMP program (two threads): each step is a parallel reduction over
 * an array that the step also updates, and one line per step goes to OUT.
 * Integer arithmetic, so the sums do not depend on the threads' order.
 *   prog_openmp OUT STEPS */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N (1 << 20)

static uint64_t data[N];

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: prog_openmp OUT STEPS\n");
    return 2;
  }
  FILE* out = fopen(argv[1], "w");
  if (!out) return 1;
  const int steps = atoi(argv[2]);
  for (int i = 0; i < N; ++i) data[i] = (uint64_t)i * 2654435761u;
  for (int step = 0; step < steps; ++step) {
    uint64_t sum = 0;
#pragma omp parallel for num_threads(2) schedule(static) reduction(+ : sum)
    for (int i = 0; i < N; ++i) {
      data[i] = data[i] * 6364136223846793005ull + (uint64_t)step;
      sum += data[i] >> 7;
    }
    fprintf(out, "step %04d sum %016llx threads %d\n", step, (unsigned long long)sum, omp_get_max_threads() >= 2 ? 2 : 1);
    fflush(out);
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, 0);
  }
  fclose(out);
  return 0;
}
