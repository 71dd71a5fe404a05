// A sealed memfd with content, offset and a MAP_SHARED mapping; a second memfd
// known only through its shared mapping (its fd was closed); an O_TMPFILE and
// an unlinked file with content and offsets. After the restore they keep
// their content, names, seals and offsets, and the mappings still alias the
// files: a write through one side is seen through the other.
#define _GNU_SOURCE
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gate.h"

static void describe(const char* what, int fd) {
  char link[64], target[512], buf[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  target[n > 0 ? n : 0] = 0;
  const char* deleted = strstr(target, " (deleted)");
  off_t off = lseek(fd, 0, SEEK_CUR);
  ssize_t r = pread(fd, buf, sizeof buf, 0);
  printf("%s: deleted %s, offset %lld, flags %#x, content %.*s\n", what, deleted ? "yes" : "no", (long long)off,
         fcntl(fd, F_GETFL) & ~O_LARGEFILE, r > 0 ? (int)r : 0, buf);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const int m = dup2(memfd_create("ckpt test memfd", MFD_ALLOW_SEALING), 44);
  if (ftruncate(m, 4096) != 0 || pwrite(m, "memfd content", 13, 0) != 13) return 1;
  lseek(m, 7, SEEK_SET);
  char* map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
  fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
  const int gone = memfd_create("mapped only", 0);
  if (ftruncate(gone, 4096) != 0) return 1;
  char* map2 = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, gone, 0);
  close(gone);
  strcpy(map2, "only in a mapping");
  const int tmp = dup2(open(".", O_TMPFILE | O_RDWR, 0600), 45);
  if (write(tmp, "tmpfile content", 15) != 15) return 1;
  lseek(tmp, 3, SEEK_SET);
  const int unl = dup2(open("doomed", O_RDWR | O_CREAT | O_APPEND, 0600), 46);
  if (write(unl, "unlinked content", 16) != 16) return 1;
  unlink("doomed");

  gate(argv[1], argv[2]);

  char name[512];
  ssize_t n = readlink("/proc/self/fd/44", name, sizeof name - 1);
  name[n > 0 ? n : 0] = 0;
  printf("memfd name: %s\n", name);
  describe("memfd", m);
  printf("memfd seals: %#x\n", fcntl(m, F_GET_SEALS));
  printf("memfd truncate (sealed): %d\n", ftruncate(m, 100));
  printf("mapping sees: %s\n", map);
  if (pwrite(m, "WRITTEN", 7, 0) != 7) return 1;
  printf("mapping after pwrite: %.13s\n", map);
  memcpy(map + 7, "MAPPED", 6);
  char buf[16] = {0};
  printf("fd after mapping write: %zd %.13s\n", pread(m, buf, 13, 0), buf);
  printf("mapping-only memfd: %s\n", map2);
  describe("tmpfile", tmp);
  describe("unlinked", unl);
  if (write(unl, "+", 1) != 1) return 1;
  describe("unlinked after append", unl);
  return 0;
}
