/* ckpt_probe: a small job for the checkpoint tests and the dump benchmark.
 *   ckpt_probe alloc MB READY        touch MB MiB of memory, create READY, wait for SIGTERM,
 *                                     print the longest time it was stopped (max_stall_ms)
 *                                     and how many SIGCHLD it saw (sigchld: the library's
 *                                     core writer task must not send one)
 *   ckpt_probe noclone MB READY      the same, under a seccomp filter that fails clone/clone3
 *                                     with EPERM (the library must dump without its writer
 *                                     task); prints "clone denied" once the filter holds
 *   ckpt_probe writer OUT BYTES SHARED READY
 *                                     write BYTES bytes to OUT, map SHARED (MAP_SHARED) and
 *                                     write into it, install its own SIGQUIT handler, create
 *                                     READY, wait for SIGTERM (exit 0) */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static volatile sig_atomic_t own_quit_calls;
static volatile sig_atomic_t sigchld_calls;

static void on_term(int sig) { (void)sig; stop = 1; }
static void on_quit(int sig) { (void)sig; ++own_quit_calls; }
static void on_chld(int sig) { (void)sig; ++sigchld_calls; }

static void mark_ready(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("ready"); exit(1); }
  close(fd);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Waits for SIGTERM; returns the longest time the loop was held up (a
 * checkpoint stops the job for its whole dump): the benchmark's job-stopped time. */
static double wait_for_term(void) {
  double last = now_ms(), max_gap = 0;
  while (!stop) {
    usleep(1000);
    double t = now_ms();
    if (t - last > max_gap) max_gap = t - last;
    last = t;
  }
  return max_gap;
}

/* clone and clone3 fail with EPERM from here on, as under a strict container
 * profile; everything else is allowed. */
static int deny_clone(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
  };
  struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) return -1;
  return syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0) == -1 && errno == EPERM ? 0 : -1;
}

int main(int argc, char** argv) {
  signal(SIGTERM, on_term);
  if (argc == 4 && strcmp(argv[1], "noclone") == 0) {
    if (deny_clone() != 0) { perror("seccomp"); return 1; }
    printf("clone denied\n");
    argv[1] = "alloc";
  }
  if (argc == 4 && strcmp(argv[1], "alloc") == 0) {
    size_t bytes = (size_t)atol(argv[2]) << 20;
    unsigned char* p = malloc(bytes);
    if (!p) return 1;
    for (size_t i = 0; i < bytes; ++i) p[i] = (unsigned char)(i * 131 + (i >> 12));
    signal(SIGCHLD, on_chld);
    mark_ready(argv[3]);
    printf("max_stall_ms %.3f\n", wait_for_term());
    printf("sigchld %d\n", (int)sigchld_calls);
    unsigned long sum = 0;
    for (size_t i = 0; i < bytes; i += 4096) sum += p[i];
    free(p);
    return sum == 0xffffffff ? 3 : 0;
  }
  if (argc == 6 && strcmp(argv[1], "writer") == 0) {
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    long n = atol(argv[3]);
    char buf[1000];
    for (long i = 0; i < (long)sizeof buf; ++i) buf[i] = (char)('a' + i % 26);
    for (long left = n; left > 0;) {
      long k = left < (long)sizeof buf ? left : (long)sizeof buf;
      if (write(fd, buf, (size_t)k) != k) return 1;
      left -= k;
    }
    int sfd = open(argv[4], O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (sfd < 0 || ftruncate(sfd, 8192) != 0) return 1;
    char* shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
    if (shared == MAP_FAILED) return 1;
    strcpy(shared, "shared mapping contents");
    close(sfd); /* only the mapping keeps it: the image must copy it as a shared file */
    signal(SIGQUIT, on_quit);  /* the library must keep its own handler */
    mark_ready(argv[5]);
    wait_for_term();
    printf("own quit handler calls: %d\n", (int)own_quit_calls);
    return 0;
  }
  fprintf(stderr, "usage: ckpt_probe alloc|noclone MB READY | writer OUT BYTES SHARED READY\n");
  return 2;
}
