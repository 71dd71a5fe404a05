// The program's own signal handler and blocked signals must survive: SIGUSR1
// keeps its handler, SIGUSR2 stays blocked (pending, not fatal).
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "gate.h"

static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig) {
  (void)sig;
  ++usr1_count;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, 0);
  signal(SIGPIPE, SIG_IGN);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, 0);
  for (int i = 0; i < 3; ++i) raise(SIGUSR1);
  gate(argv[1], argv[2]);
  for (int i = 0; i < 2; ++i) raise(SIGUSR1);
  raise(SIGUSR2);  // blocked: must stay pending, not kill us
  raise(SIGPIPE);  // ignored
  sigset_t pending, mask;
  sigpending(&pending);
  sigprocmask(SIG_BLOCK, 0, &mask);
  struct sigaction now;
  sigaction(SIGUSR1, 0, &now);
  printf("usr1 handled %d times\n", (int)usr1_count);
  printf("usr2 blocked %d pending %d\n", sigismember(&mask, SIGUSR2), sigismember(&pending, SIGUSR2));
  printf("usr1 handler kept %d\n", now.sa_handler == on_usr1);
  return 0;
}
