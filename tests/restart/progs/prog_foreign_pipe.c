// fd 3 is the read end of a pipe whose writer is another process (a child
// that exits once GO exists): that cannot come back, so the restarter refuses
// it, or makes it /dev/null with --skip-unrestorable.
#include <stdio.h>
#include <unistd.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int p[2];
  if (pipe(p) != 0 || p[0] != 3) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(p[0]);
    gate_wait(argv[2]);
    _exit(0);
  }
  close(p[1]);
  gate(argv[1], argv[2]);
  char c;
  printf("read from fd 3: %zd\n", read(3, &c, 1));
  return 0;
}
