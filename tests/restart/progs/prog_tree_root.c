// The root of a hand-made tree image (test_tree_restore.cpp): checkpointed
// alone at its gate; the tree it is restored into gives it a zombie child
// ZOMBIE. After the gate it writes its pid as getpid() and /proc/self see it,
// reaps ZOMBIE and writes the status, stops at a second gate, and exits 42.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 7) return 2;  // MARKER GO ZOMBIE OUT MARKER2 GO2
  gate(argv[1], argv[2]);
  FILE* out = fopen(argv[4], "w");
  if (!out) return 1;
  char self[64] = {0};
  const ssize_t n = readlink("/proc/self", self, sizeof self - 1);
  if (n > 0) self[n] = 0;
  fprintf(out, "pid %d self %s\n", (int)getpid(), self);
  int status = -1;
  const pid_t reaped = waitpid((pid_t)atoi(argv[3]), &status, 0);
  fprintf(out, "waited %d status %d\n", (int)reaped, status);
  if (fclose(out) != 0) return 1;
  gate(argv[5], argv[6]);
  return 42;
}
