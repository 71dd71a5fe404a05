/* exec_probe: starts a program with an empty environment through one exec
 * family, for the exec guard's tests (test_exec_guard.cpp, test_exec_window.cpp).
 *   exec_probe wait DIR               create DIR/ready-PID holding the environment as
 *                                     this program sees it (one NAME=VALUE a line,
 *                                     after the library's constructor), wait for
 *                                     DIR/go, exit 0
 *   exec_probe execve PROG ARGS...    execve(PROG, ARGS, {NULL})
 *   exec_probe execvp PROG ARGS...    clearenv(), execvp(PROG, ARGS)
 *   exec_probe execl PROG A1 A2       clearenv(), execl(PROG, PROG, A1, A2, NULL)
 *   exec_probe spawn PROG ARGS...     posix_spawn(PROG, ARGS, {NULL}), wait for it
 *   exec_probe system COMMAND         clearenv(), system(COMMAND)
 *   exec_probe popen COMMAND          clearenv(), popen(COMMAND, "r"), copy it to stdout
 *   exec_probe gate DIR MODE ARGS...  wait for DIR/start, then as `exec_probe MODE ARGS...`
 *   exec_probe loop N DIR             wait for DIR/start, then execve itself N times
 *                                     with an empty environment; then create DIR/done
 * Exits 0 when what it started exited 0 (exec: the new program's status). */
#define _GNU_SOURCE /* environ, clearenv */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch(const char* dir, const char* name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  close(open(path, O_WRONLY | O_CREAT, 0600));
}

static int exists(const char* dir, const char* name) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0;
}

// The environment as this program sees it, written before the file's name
// appears (a rename), so the test reads it whole.
static void ready(const char* dir) {
  char tmp[4096], path[4096];
  snprintf(tmp, sizeof tmp, "%s/.ready-%d", dir, (int)getpid());
  snprintf(path, sizeof path, "%s/ready-%d", dir, (int)getpid());
  FILE* f = fopen(tmp, "w");
  if (!f) return;
  for (char** e = environ; e && *e; ++e) fprintf(f, "%s\n", *e);
  fclose(f);
  rename(tmp, path);
}

static int wait_for(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int loop(char* self, const char* count, const char* dir) {
  const long n = strtol(count, NULL, 10);
  if (n <= 0) {
    touch(dir, "done");
    return 0;
  }
  while (!exists(dir, "start")) usleep(1000);
  char next[32];
  snprintf(next, sizeof next, "%ld", n - 1);
  char* argv[] = {self, "loop", next, (char*)dir, NULL};
  char* envp[] = {NULL};
  execve("/proc/self/exe", argv, envp);
  perror("execve");
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;  /* every mode names at least a program or a directory */
  const char* mode = argv[1];
  char* empty[] = {NULL};
  if (strcmp(mode, "gate") == 0 && argc >= 5) {  /* a tracer attaches meanwhile */
    while (!exists(argv[2], "start")) usleep(1000);
    argv += 2;
    argc -= 2;
    mode = argv[1];
  }
  if (strcmp(mode, "wait") == 0) {
    ready(argv[2]);
    while (!exists(argv[2], "go")) usleep(20000);
    return 0;
  }
  if (strcmp(mode, "loop") == 0 && argc == 4) return loop(argv[0], argv[2], argv[3]);
  if (strcmp(mode, "execve") == 0) execve(argv[2], argv + 2, empty);
  if (strcmp(mode, "execvp") == 0) clearenv(), execvp(argv[2], argv + 2);
  if (strcmp(mode, "execl") == 0 && argc == 5) clearenv(), execl(argv[2], argv[2], argv[3], argv[4], (char*)NULL);
  if (strcmp(mode, "spawn") == 0) {
    pid_t pid;
    if (posix_spawn(&pid, argv[2], NULL, NULL, argv + 2, empty) != 0) return 1;
    return wait_for(pid);
  }
  if (strcmp(mode, "system") == 0) {
    clearenv();
    const int status = system(argv[2]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (strcmp(mode, "popen") == 0) {
    clearenv();
    FILE* f = popen(argv[2], "r");
    if (!f) return 1;
    for (int c; (c = fgetc(f)) != EOF;) putchar(c);
    return pclose(f) == 0 ? 0 : 1;
  }
  perror(mode);
  return 1;
}
