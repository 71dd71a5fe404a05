// Holds a socket (fd 3, one end of a socketpair whose other end is closed) across the checkpoint: the
// restarter must refuse it, or turn it into /dev/null with
// --skip-unrestorable. The program then writes to it and reports the result.
#include <stdio.h>
#include <sys/socket.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  close(sv[1]);  // its peer is gone: nothing to pair it with on restore
  gate(argv[1], argv[2]);
  printf("write to fd %d: %zd\n", sv[0], write(sv[0], "x", 1));
  return 0;
}
