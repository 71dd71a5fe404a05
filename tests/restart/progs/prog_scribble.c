// A job that asks for its own checkpoints (it raises the checkpoint signal,
// so each lands at a known point) and writes its memory hard right after
// each one: with forked dumps the copy writes the image while the job
// overwrites half of its pages again and again. At each checkpoint the job
// writes the checksum of its memory as it is there to OUTDIR/sum-K; a job
// restored from that image resumes right after the raise, finds the file and
// writes OUTDIR/sum-K-restored instead. The two must agree.
// Before each checkpoint every other page of a quarter of the other half
// changes, so incremental images have pages both changed and unchanged, cut
// into more pieces than restart maps (it copies such a segment instead).
// Usage: prog_scribble OUTDIR MIB CHECKPOINTS ROUNDS
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t checksum(const uint64_t* w, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) h = (h ^ w[i]) * 0x100000001b3ULL;
  return h;
}

static void write_sum(const char* dir, int k, uint64_t h) {
  char path[4096], line[32];
  snprintf(path, sizeof path, "%s/sum-%d", dir, k);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    snprintf(path, sizeof path, "%s/sum-%d-restored", dir, k);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) exit(3);
  const int len = snprintf(line, sizeof line, "%016llx\n", (unsigned long long)h);
  if (write(fd, line, (size_t)len) != len) exit(3);
  close(fd);
}

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const size_t n = (size_t)atoi(argv[2]) << 17;  // MiB in 8-byte words
  const int checkpoints = atoi(argv[3]), rounds = atoi(argv[4]);
  const char* sig = getenv("CKPT_SIGNAL");
  const int ckpt_signal = sig && strcmp(sig, "QUIT") != 0 ? atoi(sig) : SIGQUIT;
  uint64_t* w = malloc(n * sizeof *w);
  if (!w || ckpt_signal <= 0) return 1;
  for (size_t i = 0; i < n; ++i) w[i] = i * 0x9e3779b97f4a7c15ULL;
  const size_t half = n / 2, quarter = half / 4;
  for (int k = 1; k <= checkpoints; ++k) {
    uint64_t* part = w + half + (size_t)(k % 4) * quarter;
    for (size_t i = 0; i < quarter; i += 1024) part[i] ^= (uint64_t)k << 32 | i;  // every other page
    raise(ckpt_signal);  // the checkpoint: for a restored job, execution resumes here
    write_sum(argv[1], k, checksum(w, n));
    for (int r = 0; r < rounds; ++r)
      for (size_t i = 0; i < half; i += 8) w[i] = w[i] * 6364136223846793005ULL + (uint64_t)r;
  }
  return 0;
}
