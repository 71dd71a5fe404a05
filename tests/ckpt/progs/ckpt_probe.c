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
 *                                     READY, wait for SIGTERM (exit 0)
 *   ckpt_probe threads MB T KIND READY
 *                                     T threads (main included) each first-touch 1/T of
 *                                     MB MiB (one buffer, as an OpenMP loop would), then
 *                                     run a loop measuring their own longest gap between
 *                                     iterations until SIGTERM. KIND: busy (the threads
 *                                     compute on their slice without sleeping: they compete
 *                                     for the CPUs with the dump's writer task), sleep
 *                                     (usleep(1000) loops, as "alloc"), or idle (the T-1
 *                                     workers block in a condition wait, a sleeping
 *                                     OpenMP/BLAS pool; only main measures). Env
 *                                     PROBE_STACK_KB: the threads' stack size. Prints
 *                                     max_stall_ms (the max over the measuring threads)
 *                                     and one thread_stall_ms line per thread.
 *   ckpt_probe quit-on-dump MB DIR READY
 *                                     touch MB MiB, create READY, then end as soon as a
 *                                     checkpoint of it has begun: DIR (its image directory)
 *                                     holds a .tmp- or ckpt- entry. The library makes the
 *                                     .tmp- one in its handler while the job is stopped, so
 *                                     the job ends right after the handler returns, while a
 *                                     forked writer still writes its MB; restored from that
 *                                     image it ends at once too. Prints "sum N" over its
 *                                     memory (the same for every run), exit 0; on stderr,
 *                                     "ended while its writer was still writing" if its
 *                                     forked writer (its child) had not finished. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>
#include "probe_stack.h"

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
static __thread double gap_from_ms;  /* CLOCK_MONOTONIC start of the longest gap */
static double wait_for_term(void) {
  double last = now_ms(), max_gap = 0;
  while (!stop) {
    usleep(1000);
    double t = now_ms();
    if (t - last > max_gap) max_gap = t - last, gap_from_ms = last;
    last = t;
  }
  return max_gap;
}


/* "threads" mode: one per thread, main is [0]. */
struct probe_thread {
  pthread_t id;
  unsigned char* mem;
  size_t bytes;
  int kind;  /* 0 busy, 1 sleep, 2 idle (a blocked worker) */
  double max_gap_ms;
  double gap_from_ms;
  unsigned long sum;
};
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_done;
static pthread_barrier_t touched;

static void* probe_thread_run(void* arg) {
  struct probe_thread* t = arg;
  for (size_t i = 0; i < t->bytes; ++i) t->mem[i] = (unsigned char)(i * 131 + (i >> 12));
  pthread_barrier_wait(&touched);
  if (t->kind == 2) {  /* blocked in a futex wait until the end */
    pthread_mutex_lock(&idle_lock);
    while (!idle_done) pthread_cond_wait(&idle_cond, &idle_lock);
    pthread_mutex_unlock(&idle_lock);
    return 0;
  }
  if (t->kind == 1) {
    t->max_gap_ms = wait_for_term();
    t->gap_from_ms = gap_from_ms;
    return 0;
  }
  /* busy: read 4 KiB of the slice per iteration, no sleep */
  double last = now_ms(), max_gap = 0;
  size_t pos = 0;
  unsigned long sum = 0;
  while (!stop) {
    for (size_t k = 0; k < 4096; k += 64) sum += t->mem[(pos + k) % t->bytes];
    pos = (pos + 4096) % t->bytes;
    double now = now_ms();
    if (now - last > max_gap) max_gap = now - last, t->gap_from_ms = last;
    last = now;
  }
  t->sum = sum;
  t->max_gap_ms = max_gap;
  return 0;
}

static int threads_mode(size_t mib, int nthreads, const char* kind, const char* ready) {
  int k = strcmp(kind, "busy") == 0 ? 0 : strcmp(kind, "sleep") == 0 ? 1 : strcmp(kind, "idle") == 0 ? 2 : -1;
  if (k < 0 || nthreads < 1 || nthreads > 64) return 2;
  size_t bytes = mib << 20, slice = (bytes / (size_t)nthreads) & ~(size_t)4095;
  unsigned char* p = malloc(bytes);
  if (!p) return 1;
  struct probe_thread t[64];
  memset(t, 0, sizeof t);
  pthread_barrier_init(&touched, 0, (unsigned)nthreads);
  for (int i = 0; i < nthreads; ++i) {
    t[i].mem = p + (size_t)i * slice;
    t[i].bytes = i == nthreads - 1 ? bytes - (size_t)i * slice : slice;
    t[i].kind = (k == 2 && i == 0) ? 1 : k;  /* idle: main keeps measuring (sleep loop) */
  }
  for (int i = 1; i < nthreads; ++i)
    if (pthread_create(&t[i].id, probe_stack_attr(), probe_thread_run, &t[i]) != 0) return 1;
  /* main: touch its slice, wait for the others, then READY from inside the loop's thread */
  for (size_t i = 0; i < t[0].bytes; ++i) t[0].mem[i] = (unsigned char)(i * 131 + (i >> 12));
  pthread_barrier_wait(&touched);
  mark_ready(ready);
  if (t[0].kind == 1) {
    t[0].max_gap_ms = wait_for_term();
    t[0].gap_from_ms = gap_from_ms;
  } else {
    /* the same loop as a busy worker, on main's slice (barrier already passed) */
    double last = now_ms(), max_gap = 0;
    size_t pos = 0;
    unsigned long sum = 0;
    while (!stop) {
      for (size_t j = 0; j < 4096; j += 64) sum += t[0].mem[(pos + j) % t[0].bytes];
      pos = (pos + 4096) % t[0].bytes;
      double now = now_ms();
      if (now - last > max_gap) max_gap = now - last, t[0].gap_from_ms = last;
      last = now;
    }
    t[0].sum = sum;
    t[0].max_gap_ms = max_gap;
  }
  pthread_mutex_lock(&idle_lock);
  idle_done = 1;
  pthread_cond_broadcast(&idle_cond);
  pthread_mutex_unlock(&idle_lock);
  double worst = 0;
  for (int i = 1; i < nthreads; ++i) pthread_join(t[i].id, 0);
  for (int i = 0; i < nthreads; ++i) {
    if (t[i].kind == 2) {
      printf("thread_stall_ms %d blocked\n", i);
      continue;
    }
    /* where the gap lay, relative to main's: when each thread was stopped and let go */
    printf("thread_stall_ms %d %.3f from %+.3f to %+.3f\n", i, t[i].max_gap_ms, t[i].gap_from_ms - t[0].gap_from_ms,
           t[i].gap_from_ms + t[i].max_gap_ms - t[0].gap_from_ms - t[0].max_gap_ms);
    if (t[i].max_gap_ms > worst) worst = t[i].max_gap_ms;
  }
  printf("max_stall_ms %.3f\n", worst);
  unsigned long sum = 0;
  for (int i = 0; i < nthreads; ++i) sum += t[i].sum;
  free(p);
  return sum == 1 ? 3 : 0;
}

/* "quit-on-dump" mode: a checkpoint of the job has begun (or it was restored
 * from one): DIR holds an image, whole or being written. */
static int dump_begun(const char* dir) {
  DIR* d = opendir(dir);
  if (!d) return 0;
  int found = 0;
  for (struct dirent* e; !found && (e = readdir(d));)
    found = strncmp(e->d_name, ".tmp-", 5) == 0 || strncmp(e->d_name, "ckpt-", 5) == 0;
  closedir(d);
  return found;
}

/* The forked writer is the job's child (no exit signal) until it ends. */
static int writer_running(void) {
  char path[64], text[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  int child = 0;
  const int have = fscanf(f, "%d", &child) == 1;
  fclose(f);
  if (!have) return 0;
  snprintf(path, sizeof path, "/proc/%d/stat", child);
  f = fopen(path, "r");
  if (!f) return 0;
  const size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  const char* paren = strrchr(text, ')');
  return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int quit_on_dump(size_t mib, const char* dir, const char* ready) {
  size_t bytes = mib << 20;
  unsigned char* p = malloc(bytes);
  if (!p) return 1;
  for (size_t i = 0; i < bytes; ++i) p[i] = (unsigned char)(i * 131 + (i >> 12));
  mark_ready(ready);
  while (!dump_begun(dir)) usleep(1000);
  if (writer_running()) fprintf(stderr, "ended while its writer was still writing\n");
  /* A sample of every page, quick: the job must end long before its writer. */
  unsigned long sum = 0;
  for (size_t i = 0; i < bytes; i += 509) sum += p[i];
  printf("sum %lu\n", sum);
  return 0;
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
  if (argc == 5 && strcmp(argv[1], "quit-on-dump") == 0) return quit_on_dump((size_t)atol(argv[2]), argv[3], argv[4]);
  if (argc == 6 && strcmp(argv[1], "threads") == 0)
    return threads_mode((size_t)atol(argv[2]), atoi(argv[3]), argv[4], argv[5]);
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
  fprintf(stderr, "usage: ckpt_probe alloc|noclone MB READY | writer OUT BYTES SHARED READY | threads MB T busy|sleep|idle READY | quit-on-dump MB DIR READY\n");
  return 2;
}
