/* A member of a job that cannot carry the checkpoint library whatever the
 * exec guard does: it is statically linked. Usage: static_gate GO [READY] [--cat]
 * touches READY, waits until GO exists, then (--cat) copies stdin to stdout. */
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  int cat = argc > 2 && strcmp(argv[argc - 1], "--cat") == 0;
  int last = cat ? argc - 1 : argc;
  if (last > 2) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return 3;
    close(fd);
  }
  const struct timespec pause = {0, 50 * 1000 * 1000};
  while (access(argv[1], F_OK) != 0) nanosleep(&pause, 0);
  if (!cat) return 0;
  char buf[4096];
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0)
    if (write(1, buf, (size_t)n) != n) return 4;
  return n < 0 ? 5 : 0;
}
