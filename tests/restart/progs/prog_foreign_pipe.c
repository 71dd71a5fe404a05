// fd 3 is the read end of a pipe whose writer is a process outside the job: a
// shell detached (double fork and a session of its own, so it is no child of
// the job nor in its group), that exits once GO exists. `ckptsim run` makes
// the job's first process a child subreaper, which would keep the shell in the
// job: this program gives that up first, so the shell goes to init. The checkpoint of the job is
// not refused (the writer is not one of its processes), but the pipe cannot
// come back: the restarter refuses it, or makes it /dev/null with
// --skip-unrestorable.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  if (prctl(PR_SET_CHILD_SUBREAPER, 0) != 0) return 1;
  int p[2];
  if (pipe(p) != 0 || p[0] != 3) return 1;
  pid_t child = fork();
  if (child == 0) {
    if (fork() == 0) {
      setsid();  // a session of its own: no member of the job's group or session
      close(p[0]);
      char script[4096];
      snprintf(script, sizeof script, "while [ ! -e '%s' ]; do sleep 0.01; done", argv[2]);
      char* env[] = {"PATH=/usr/bin:/bin", NULL};  // the exec guard puts the library back; no matter
      execle("/bin/sh", "sh", "-c", script, (char*)NULL, env);
      _exit(127);
    }
    _exit(0);
  }
  waitpid(child, NULL, 0);
  close(p[1]);
  gate(argv[1], argv[2]);
  char c;
  printf("read from fd 3: %zd\n", read(3, &c, 1));
  return 0;
}
