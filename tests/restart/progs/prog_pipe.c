// A self-pipe with bytes in it, at high fd numbers, one end dup'ed; and a
// named FIFO opened read-write holding bytes. After the restore the bytes are
// still there, the pipe works both ways, its size is kept and the dup still
// shares its open file description (status flags set through one are seen
// through the other).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate.h"

static void drain(const char* what, int fd) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  printf("%s: %zd bytes: %.*s\n", what, n, n > 0 ? (int)n : 0, buf);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int p[2];
  if (pipe(p) != 0) return 1;
  const int rd = dup2(p[0], 40), wr = dup2(p[1], 41), rd_dup = dup2(p[0], 57);
  close(p[0]);
  close(p[1]);
  fcntl(wr, F_SETPIPE_SZ, 1 << 17);
  const char* before = "queued before the checkpoint";
  if (write(wr, before, strlen(before)) < 0) return 1;
  if (mkfifo("fifo", 0600) != 0) return 1;
  const int fifo = dup2(open("fifo", O_RDWR | O_NONBLOCK), 33);
  if (write(fifo, "fifo bytes", 10) != 10) return 1;

  gate(argv[1], argv[2]);

  printf("pipe size: %d\n", fcntl(wr, F_GETPIPE_SZ));
  fcntl(rd, F_SETFL, O_NONBLOCK);
  printf("dup shares status flags: %s\n", (fcntl(rd_dup, F_GETFL) & O_NONBLOCK) ? "yes" : "no");
  drain("pipe", rd_dup);
  drain("pipe when empty", rd);
  if (write(wr, "after", 5) != 5) return 1;
  drain("pipe after restore", rd);
  drain("fifo", fifo);
  return 0;
}
