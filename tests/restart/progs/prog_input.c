// An input file read part-way with read(2), and stdin (a file) read part-way
// through stdio: both must continue from where they were.
// Usage: prog_input MARKER GO INPUT < STDIN_FILE
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  int fd = open(argv[3], O_RDONLY);
  if (fd < 0) return 1;
  char buf[1000];
  long total = 0, chunks = 0, lines = 0;
  unsigned long h = 5381;
  char line[256];
  for (;;) {
    if (chunks == 37) gate(argv[1], argv[2]);
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      h = h * 33 + (unsigned char)buf[i];
      buf[i] = (char)toupper((unsigned char)buf[i]);
    }
    fwrite(buf, 1, n, stdout);
    total += n, ++chunks;
    if (fgets(line, sizeof line, stdin)) {
      ++lines;
      printf("[stdin %ld: %.*s]\n", lines, (int)strcspn(line, "\n"), line);
    }
  }
  printf("\ninput bytes %ld hash %lu stdin lines %ld\n", total, h, lines);
  return 0;
}
