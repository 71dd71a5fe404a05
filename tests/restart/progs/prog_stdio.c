// C stdio: a fully buffered FILE* and stdout redirected to a file, both
// half-written (and half-flushed) at the checkpoint.
#include <stdio.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  FILE* f = fopen(argv[3], "w");
  if (!f) return 1;
  for (int i = 0; i < 6000; ++i) {
    if (i == 3001) gate(argv[1], argv[2]);
    fprintf(f, "line %d %d\n", i, (i * i) % 97);
    printf("out %d\n", i * 7);
  }
  return fclose(f) == 0 ? 0 : 1;
}
