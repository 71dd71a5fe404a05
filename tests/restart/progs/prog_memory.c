// Big memory of every kind: a large malloc, anonymous mmap, a private file
// mapping (read and copy-on-write modified) and a shared file mapping whose
// writes must reach the file, before and after the checkpoint.
// Usage: prog_memory MARKER GO SHARED_FILE PRIVATE_FILE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "gate.h"

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const size_t heap_n = (48u << 20) / sizeof(uint64_t), anon_len = 16u << 20;
  uint64_t* heap = malloc(heap_n * sizeof(uint64_t));
  unsigned char* anon = mmap(0, anon_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int sfd = open(argv[3], O_RDWR), pfd = open(argv[4], O_RDONLY);
  struct stat sst, pst;
  if (!heap || anon == MAP_FAILED || sfd < 0 || pfd < 0 || fstat(sfd, &sst) || fstat(pfd, &pst)) return 1;
  unsigned char* shared = mmap(0, sst.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
  unsigned char* priv = mmap(0, pst.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, pfd, 0);
  close(sfd);
  close(pfd);
  if (shared == MAP_FAILED || priv == MAP_FAILED) return 1;
  for (size_t i = 0; i < heap_n; ++i) heap[i] = i * 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < anon_len; ++i) anon[i] = (unsigned char)(i * 13 + 5);
  for (off_t i = 0; i < sst.st_size / 2; ++i) shared[i] = (unsigned char)(shared[i] + i);
  for (off_t i = 0; i < pst.st_size; i += 3) priv[i] ^= 0x5a;

  gate(argv[1], argv[2]);

  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < heap_n; ++i) h = mix(h, heap[i] == i * 0x9e3779b97f4a7c15ULL);
  printf("heap %016llx\n", (unsigned long long)h);
  h = 1469598103934665603ULL;
  for (size_t i = 0; i < anon_len; ++i) h = mix(h, anon[i]);
  printf("anon %016llx\n", (unsigned long long)h);
  h = 1469598103934665603ULL;
  for (off_t i = 0; i < pst.st_size; ++i) h = mix(h, priv[i]);
  printf("private file mapping %016llx\n", (unsigned long long)h);
  for (off_t i = sst.st_size / 2; i < sst.st_size; ++i) shared[i] = (unsigned char)(shared[i] ^ (i >> 3));
  h = 1469598103934665603ULL;
  for (off_t i = 0; i < sst.st_size; ++i) h = mix(h, shared[i]);
  printf("shared file mapping %016llx\n", (unsigned long long)h);
  heap = realloc(heap, heap_n * 2 * sizeof(uint64_t));  // grows a restored mmap chunk
  heap[heap_n * 2 - 1] = 42;
  printf("realloc %s\n", heap && heap[0] == 0 && heap[1] == 0x9e3779b97f4a7c15ULL ? "ok" : "BROKEN");
  if (msync(shared, sst.st_size, MS_SYNC) != 0) return 1;
  return 0;
}
