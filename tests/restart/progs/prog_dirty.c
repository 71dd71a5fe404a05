// A job that writes known pages between its own incremental checkpoints, for
// the kernel's dirty-page tracking (CKPT_DIRTY) against checksums. It maps
// MIB MiB, fills the first 7/8 (the last 1/8 is never touched), writes
// OUTDIR/layout ("START END"), then for k = 1..CHECKPOINTS: from k = 2 on it
// changes a known set of pages (stores from user space; one page filled by
// read(2) from a pipe, a write by the kernel; one page dropped with
// MADV_DONTNEED, zeros again without a write), lists their indices in
// OUTDIR/changed-K, raises the checkpoint signal, and writes the checksum of
// the whole mapping to OUTDIR/sum-K. A job restored from image K finds sum-K,
// writes sum-K-restored instead and exits. With a fourth argument "no-uffd"
// it first denies itself userfaultfd(2) (seccomp, EPERM), as a kernel or a
// container without it would: the library must fall back to checksums.
// With "fork" instead, from k = 3 on it first forks two children, one with
// fork(3) and one with the raw system call (no atfork handler runs): each
// rewrites every page of its copy of the mapping (no longer registered in
// the child: the library's userfaultfd has no UFFD_FEATURE_EVENT_FORK) and
// checks what it reads back; the fork(3) child also checks that it does not
// hold the library's userfaultfd. Both are reaped before the checkpoint, and
// the parent's images must hold only the parent's own changes.
// With "wait=DIR" instead (bench/bench-dirty.sh), after checkpoint K it waits
// until DIR/latest names ckpt-K (a fresh DIR): a forked dump's writer is then
// done, so the next checkpoint's stop is its own, not a wait for the last.
// Usage: prog_dirty OUTDIR MIB CHECKPOINTS [no-uffd|fork|wait=DIR]
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static uint64_t checksum(const unsigned char* p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

static FILE* open_out(const char* dir, const char* name, int k) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s-%d", dir, name, k);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  return fd < 0 ? NULL : fdopen(fd, "w");
}

static int deny_userfaultfd(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1 /* EPERM */),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static int holds_userfaultfd(void) {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 1;
  int found = 0;
  for (struct dirent* e; (e = readdir(d)) != NULL && !found;) {
    char link[300], target[64];
    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
    const ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0) target[n] = 0;
    found = n > 0 && strcmp(target, "anon_inode:[userfaultfd]") == 0;
  }
  closedir(d);
  return found;
}

// A child that rewrites its copy of [buf, buf + used pages) and reads it back:
// 0 when all is well.
static int child_writes(unsigned char* buf, size_t used, int check_fd) {
  if (check_fd && holds_userfaultfd()) return 6;
  for (size_t p = 0; p < used; ++p) memset(buf + p * PAGE, (int)(p & 0xff), PAGE);
  for (size_t p = 0; p < used; ++p)
    if (buf[p * PAGE] != (unsigned char)(p & 0xff) || buf[p * PAGE + PAGE - 1] != (unsigned char)(p & 0xff)) return 7;
  return 0;
}

// Polls DIR/latest for ckpt-K, up to 5 minutes (a 1 GB forked write under load).
static int image_committed(const char* dir, int k) {
  char link[4096], want[32], got[64];
  snprintf(link, sizeof link, "%s/latest", dir);
  snprintf(want, sizeof want, "ckpt-%04d", k);
  for (int waited_ms = 0; waited_ms < 300000; waited_ms += 5) {
    const ssize_t n = readlink(link, got, sizeof got - 1);
    if (n > 0) got[n] = 0;
    if (n > 0 && strcmp(got, want) == 0) return 1;
    usleep(5000);
  }
  return 0;
}

static int reaped_ok(pid_t pid) {
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char** argv) {
  const int no_uffd = argc == 5 && strcmp(argv[4], "no-uffd") == 0, forks = argc == 5 && strcmp(argv[4], "fork") == 0;
  const char* wait_dir = argc == 5 && strncmp(argv[4], "wait=", 5) == 0 ? argv[4] + 5 : NULL;
  if (argc != 4 && !no_uffd && !forks && !wait_dir) return 2;
  if (no_uffd && deny_userfaultfd() != 0) return 4;
  const size_t pages = (size_t)atoi(argv[2]) * 256, used = pages / 8 * 7;
  const int checkpoints = atoi(argv[3]);
  const char* sig = getenv("CKPT_SIGNAL");
  const int ckpt_signal = sig && strcmp(sig, "QUIT") != 0 ? atoi(sig) : SIGQUIT;
  unsigned char* buf = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  int pfd[2];
  if (buf == MAP_FAILED || ckpt_signal <= 0 || pipe(pfd) != 0) return 1;
  for (size_t i = 0; i < used * PAGE; ++i) buf[i] = (unsigned char)(i * 31 + i / PAGE);
  char path[4096];
  snprintf(path, sizeof path, "%s/layout", argv[1]);
  FILE* f = fopen(path, "w");
  if (!f) return 1;
  fprintf(f, "%lu %lu\n", (unsigned long)(uintptr_t)buf, (unsigned long)(uintptr_t)(buf + pages * PAGE));
  fclose(f);
  for (int k = 1; k <= checkpoints; ++k) {
    if (forks && k > 2) {
      const pid_t c1 = fork();
      if (c1 == 0) _exit(child_writes(buf, used, 1));
      const pid_t c2 = (pid_t)syscall(SYS_fork);
      if (c2 == 0) _exit(child_writes(buf, used, 0));
      if (!reaped_ok(c1) || !reaped_ok(c2)) return 5;
    }
    if (k > 1) {
      FILE* out = open_out(argv[1], "changed", k);
      if (!out) return 1;
      for (size_t p = (size_t)k; p < used; p += 37 + (size_t)k) {  // stores
        buf[p * PAGE + (size_t)k * 8] ^= 0x5a;
        fprintf(out, "%zu\n", p);
      }
      const size_t by_kernel = used - 1, dropped = used - 3 * (size_t)k - 1;
      unsigned char bytes[PAGE];
      memset(bytes, 0x40 + k, sizeof bytes);
      if (write(pfd[1], bytes, PAGE) != PAGE || read(pfd[0], buf + by_kernel * PAGE, PAGE) != PAGE) return 1;
      fprintf(out, "%zu\n", by_kernel);
      if (dropped % (37 + (size_t)k) != (size_t)k % (37 + (size_t)k)) {
        if (madvise(buf + dropped * PAGE, PAGE, MADV_DONTNEED) != 0) return 1;
        fprintf(out, "%zu\n", dropped);
      }
      fclose(out);
    }
    raise(ckpt_signal);  // the checkpoint: a restored job resumes here
    FILE* sum = open_out(argv[1], "sum", k);
    const int restored = sum == NULL;
    if (restored) sum = open_out(argv[1], "sum-restored", k);
    if (!sum) return 3;
    fprintf(sum, "%016llx\n", (unsigned long long)checksum(buf, pages * PAGE));
    fclose(sum);
    if (restored) return 0;
    if (wait_dir && !image_committed(wait_dir, k)) {
      fprintf(stderr, "prog_dirty: %s/latest never named ckpt-%04d\n", wait_dir, k);
      return 8;
    }
  }
  return 0;
}
