// A stream socket pair with bytes queued both ways, and a seqpacket pair with
// none. After the restore each end reads what was queued for it, and both
// pairs still carry data both ways (message boundaries on the seqpacket one).
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gate.h"

static void show(const char* what, int fd) {
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  printf("%s: %zd: %.*s\n", what, n, n > 0 ? (int)n : 0, buf);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int sv[2], sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) != 0) return 1;
  const int a = dup2(sv[0], 60), b = dup2(sv[1], 61), p = dup2(sp[0], 62), q = dup2(sp[1], 63);
  close(sv[0]), close(sv[1]), close(sp[0]), close(sp[1]);
  if (send(a, "from a, queued", 14, 0) != 14 || send(b, "from b, queued too", 18, 0) != 18) return 1;

  gate(argv[1], argv[2]);

  show("b receives", b);
  show("a receives", a);
  if (send(a, "a again", 7, 0) != 7 || send(b, "b again", 7, 0) != 7) return 1;
  show("b receives", b);
  show("a receives", a);
  if (send(p, "m1", 2, 0) != 2 || send(p, "msg2", 4, 0) != 4) return 1;
  show("seqpacket message 1", q);
  show("seqpacket message 2", q);
  return 0;
}
