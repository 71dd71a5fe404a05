// A job that appends to a log and rewrites a region of a data file in place,
// through descriptors it keeps open (their offsets matter). After each of
// STEPS steps it writes the file `ready-K` and waits for `next-K` (the test
// checkpoints it meanwhile, so each image lands at a known point; a restored
// job finds `next-K` there and goes on). Then two more steps, and it writes
// its descriptors' offsets to `offsets`. At step 3 the log is also truncated
// (a copy that shrinks). Files in the working directory: log.txt, data.bin.
// Usage: prog_filelog STEPS
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { kDataSize = 8 << 20, kLogStart = 4 << 20, kRegion = 100000 };

static void write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t r = write(fd, p, n);
    if (r <= 0) exit(3);
    p += r;
    n -= (size_t)r;
  }
}

static void touch_and_wait(const char* made, int k, const char* awaited) {
  char path[64];
  snprintf(path, sizeof path, "%s-%d", made, k);
  const int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) exit(3);
  close(fd);
  snprintf(path, sizeof path, "%s-%d", awaited, k);
  struct stat st;
  while (stat(path, &st) != 0) usleep(5000);
}

static void step(int k, int log, int data) {
  static char buf[kRegion];
  if (k == 3) {  // the log shrinks, then grows again
    const off_t end = lseek(log, 0, SEEK_END);
    if (ftruncate(log, end - 5000) != 0 || lseek(log, 0, SEEK_END) < 0) exit(3);
  }
  int len = 0;
  for (int line = 0; len < 2900; ++line) len += snprintf(buf + len, sizeof buf - (size_t)len, "step %d line %d: appended\n", k, line);
  write_all(log, buf, (size_t)len);
  for (int i = 0; i < kRegion; ++i) buf[i] = (char)(k * 31 + i * 7);
  const off_t at = (off_t)((unsigned)k * 1234567u % (unsigned)(kDataSize - kRegion));
  if (lseek(data, at, SEEK_SET) != at) exit(3);
  write_all(data, buf, kRegion);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const int steps = atoi(argv[1]);
  const int log = open("log.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int data = open("data.bin", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0 || data < 0) return 1;
  static char block[1 << 16];
  for (int off = 0; off < kDataSize; off += (int)sizeof block) {
    for (size_t i = 0; i < sizeof block; ++i) block[i] = (char)((off >> 16) + i * 13);
    write_all(data, block, sizeof block);
  }
  for (int off = 0; off < kLogStart; off += (int)sizeof block) {
    memset(block, 'a' + (off >> 16) % 26, sizeof block);
    block[sizeof block - 1] = '\n';
    write_all(log, block, sizeof block);
  }
  for (int k = 1; k <= steps; ++k) {
    step(k, log, data);
    touch_and_wait("ready", k, "next");  // checkpointed here; a restored job resumes in the wait
  }
  step(steps + 1, log, data);
  step(steps + 2, log, data);
  char line[64];
  const int n = snprintf(line, sizeof line, "%lld %lld\n", (long long)lseek(log, 0, SEEK_CUR), (long long)lseek(data, 0, SEEK_CUR));
  const int out = open("offsets", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) return 3;
  write_all(out, line, (size_t)n);
  close(out);
  return 0;
}
