/* A job the checkpoint library must refuse: one of its threads blocks the
 * checkpoint signal (SIGQUIT) for good with a raw rt_sigprocmask system call
 * (the one way round the library's signal guard), so it can never be parked. The job
 * itself must not notice: it prints "finished" after its work, which lasts
 * until GO exists.   prog_blocked_thread MARKER GO */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gate.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int blocked = 0;

static void* blocker(void* arg) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGQUIT);
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 8);
  pthread_mutex_lock(&lock);
  blocked = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&lock);
  gate_wait((const char*)arg);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  pthread_t t;
  pthread_create(&t, 0, blocker, argv[2]);
  /* The marker only once the blocker has blocked SIGQUIT, however late it runs. */
  pthread_mutex_lock(&lock);
  while (!blocked) pthread_cond_wait(&cond, &lock);
  pthread_mutex_unlock(&lock);
  gate(argv[1], argv[2]);
  pthread_join(t, 0);
  printf("finished\n");
  return 0;
}
