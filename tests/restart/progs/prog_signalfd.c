// A signalfd for SIGUSR1 (blocked) and a non-blocking one for SIGUSR2. After
// the restore a SIGUSR1 raised by the process is read from the first, and the
// second has nothing to read.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  sigset_t m1, m2, both;
  sigemptyset(&m1), sigaddset(&m1, SIGUSR1);
  sigemptyset(&m2), sigaddset(&m2, SIGUSR2);
  sigemptyset(&both), sigaddset(&both, SIGUSR1), sigaddset(&both, SIGUSR2);
  sigprocmask(SIG_BLOCK, &both, NULL);
  const int s1 = dup2(signalfd(-1, &m1, 0), 12);
  const int s2 = dup2(signalfd(-1, &m2, SFD_NONBLOCK), 13);

  gate(argv[1], argv[2]);

  raise(SIGUSR1);
  struct signalfd_siginfo si;
  ssize_t n = read(s1, &si, sizeof si);
  printf("signalfd 1 read %zd bytes, signal %u is SIGUSR1: %s\n", n, si.ssi_signo, si.ssi_signo == SIGUSR1 ? "yes" : "no");
  printf("signalfd 2 (SIGUSR2, nonblocking) read: %zd\n", read(s2, &si, sizeof si));
  raise(SIGUSR2);
  n = read(s2, &si, sizeof si);
  printf("signalfd 2 after raise: %zd bytes, SIGUSR2: %s\n", n, si.ssi_signo == SIGUSR2 ? "yes" : "no");
  return 0;
}
