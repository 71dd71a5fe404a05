/* exec_fail: makes every exec call the library interposes fail, and checks
 * that the caller is left as it was (test_exec_window.cpp). The guard blocks
 * the checkpoint signal with a raw rt_sigprocmask before the exec and, for
 * popen, swaps environ for a completed copy: a failed call must undo both.
 * Twice: first with SIGUSR1 and SIGQUIT blocked by the program (the library
 * keeps the SIGQUIT block virtual) and its environment as `ckptsim run` gave
 * it, then with nothing blocked after clearenv() (environ is NULL). After each
 * call: errno (or the returned error) is the exec's, the mask sigprocmask
 * reports and the real one (/proc/self/status SigBlk) are unchanged, environ
 * is the same array with the same strings. One line on stderr per difference;
 * prints "checked N calls" and exits 0 when there is none. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char kMissing[] = "/nonexistent-ckpt-exec-fail/prog";
static const char kMissingName[] = "no-such-program-ckpt-exec-fail";
static const char kNotExec[] = "/proc/self/status"; /* mode 0444: EACCES */

struct State {
  sigset_t seen;
  unsigned long long real;
  char** env;
  char text[1 << 16];
};

static int g_bad = 0, g_checked = 0;

static unsigned long long real_blocked(void) {
  unsigned long long v = ~0ull;
  char line[256];
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return v;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "SigBlk: %llx", &v) == 1) break;
  fclose(f);
  return v;
}

/* Signals 1..64 of a mask as bits: sigprocmask fills only the kernel's 8
 * bytes of a sigset_t, so the rest must not be compared. */
static unsigned long long bits(const sigset_t* set) {
  unsigned long long v = 0;
  for (int s = 1; s <= 64; ++s)
    if (sigismember(set, s) == 1) v |= 1ull << (s - 1);
  return v;
}

static void take(struct State* s) {
  sigprocmask(SIG_BLOCK, NULL, &s->seen);
  s->real = real_blocked();
  s->env = environ;
  size_t at = 0;
  s->text[0] = 0;
  for (char** e = environ; e && *e && at + strlen(*e) + 2 < sizeof s->text; ++e)
    at += (size_t)snprintf(s->text + at, sizeof s->text - at, "%s\n", *e);
}

/* After call `what`, which failed with `err` (expected `want`). */
static void check(const char* what, int err, int want, const struct State* before) {
  struct State* now = malloc(sizeof *now);
  take(now);
  ++g_checked;
  const char* diff = NULL;
  if (err != want) diff = strerror(err);
  else if (now->real != before->real) diff = "the real signal mask changed";
  else if (bits(&now->seen) != bits(&before->seen)) diff = "the signal mask it sees changed";
  else if (now->env != before->env) diff = "environ is another array";
  else if (strcmp(now->text, before->text) != 0) diff = "the environment's strings changed";
  if (diff)
    fprintf(stderr, "exec_fail: %s: %s (real mask %llx, was %llx; seen %llx, was %llx)\n", what, diff, now->real,
            before->real, bits(&now->seen), bits(&before->seen));
  g_bad += diff != NULL;
  free(now);
}

static void each_call(void) {
  static struct State before;
  char* argv[] = {(char*)"prog", NULL};
  char* empty[] = {NULL};
  const int notexec_fd = open(kNotExec, O_RDONLY | O_CLOEXEC);
  pid_t pid;
  take(&before);
  check("execve", execve(kMissing, argv, environ) == -1 ? errno : 0, ENOENT, &before);
  check("execve, empty envp", execve(kMissing, argv, empty) == -1 ? errno : 0, ENOENT, &before);
  check("execve, not executable", execve(kNotExec, argv, empty) == -1 ? errno : 0, EACCES, &before);
  check("execv", execv(kMissing, argv) == -1 ? errno : 0, ENOENT, &before);
  check("execvp", execvp(kMissingName, argv) == -1 ? errno : 0, ENOENT, &before);
  check("execvpe", execvpe(kMissingName, argv, empty) == -1 ? errno : 0, ENOENT, &before);
  check("execl", execl(kMissing, "prog", (char*)NULL) == -1 ? errno : 0, ENOENT, &before);
  check("execle", execle(kMissing, "prog", (char*)NULL, empty) == -1 ? errno : 0, ENOENT, &before);
  check("execlp", execlp(kMissingName, "prog", (char*)NULL) == -1 ? errno : 0, ENOENT, &before);
  check("execveat", execveat(AT_FDCWD, kMissing, argv, empty, 0) == -1 ? errno : 0, ENOENT, &before);
  check("fexecve", fexecve(notexec_fd, argv, empty) == -1 ? errno : 0, EACCES, &before);
  check("posix_spawn", posix_spawn(&pid, kMissing, NULL, NULL, argv, empty), ENOENT, &before);
  check("posix_spawnp", posix_spawnp(&pid, kMissingName, NULL, NULL, argv, environ), ENOENT, &before);
  check("popen, bad mode", popen("true", "x") == NULL ? errno : 0, EINVAL, &before);
  close(notexec_fd);
}

int main(void) {
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGQUIT);
  sigprocmask(SIG_BLOCK, &block, NULL);
  each_call();
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  clearenv();
  each_call();
  printf("checked %d calls\n", g_checked);
  return g_bad ? 1 : 0;
}
