/* A job the checkpoint library must refuse: one of its threads blocks the
 * checkpoint signal (SIGQUIT) for good, so it can never be parked. The job
 * itself must not notice: it prints "finished" after its work, which lasts
 * until GO exists.   prog_blocked_thread MARKER GO */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "gate.h"

static void* blocker(void* arg) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGQUIT);
  pthread_sigmask(SIG_BLOCK, &set, 0);
  gate_wait((const char*)arg);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  pthread_t t;
  pthread_create(&t, 0, blocker, argv[2]);
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, 0);  /* the blocker has blocked SIGQUIT by then */
  gate(argv[1], argv[2]);
  pthread_join(t, 0);
  printf("finished\n");
  return 0;
}
