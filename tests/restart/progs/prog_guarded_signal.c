/* A job that treats the checkpoint signal (SIGQUIT) as a runtime does: its own
 * SIGQUIT handler; a helper thread created while every signal is blocked
 * (node's inspector thread); SIGQUIT blocked in the main thread (the JVM's
 * non-VM threads); one thread waiting in sigwait and one on a signalfd, both
 * for SIGQUIT among others, the latter in a ppoll that blocks everything. The
 * library must still checkpoint it at the gate, and the job must read back
 * its own settings: its handler, SIGQUIT blocked as it asked.
 *   prog_guarded_signal MARKER GO   (output on stdout) */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "gate.h"

static void on_quit(int sig) { (void)sig; }

static void* waiter(void* arg) {
  (void)arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigaddset(&set, SIGQUIT);
  int got = 0;
  const int r = sigwait(&set, &got);
  printf("sigwait returned %d with %s\n", r, got == SIGUSR2 ? "USR2" : "another signal");
  return 0;
}

static void* fd_reader(void* arg) {
  const int fd = *(const int*)arg;
  sigset_t all;
  sigfillset(&all);
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  while ((r = ppoll(&p, 1, 0, &all)) < 0 && errno == EINTR) {
  }
  struct signalfd_siginfo si;
  const ssize_t n = read(fd, &si, sizeof si);
  printf("signalfd read %zd bytes, signal %s\n", n, si.ssi_signo == SIGUSR1 ? "USR1" : "another");
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  setvbuf(stdout, 0, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_quit;
  sigfillset(&sa.sa_mask);
  sigaction(SIGQUIT, &sa, 0);

  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pthread_t w;
  pthread_create(&w, 0, waiter, 0);
  pthread_sigmask(SIG_SETMASK, &saved, 0);

  sigset_t mine;
  sigemptyset(&mine);
  sigaddset(&mine, SIGUSR1);
  sigaddset(&mine, SIGUSR2);
  sigaddset(&mine, SIGQUIT);
  sigprocmask(SIG_BLOCK, &mine, 0);
  int fd = signalfd(-1, &mine, SFD_CLOEXEC);
  pthread_t f;
  pthread_create(&f, 0, fd_reader, &fd);

  gate(argv[1], argv[2]);

  sigset_t now;
  sigprocmask(SIG_BLOCK, 0, &now);
  printf("quit blocked as asked %d\n", sigismember(&now, SIGQUIT));
  struct sigaction kept;
  sigaction(SIGQUIT, 0, &kept);
  printf("quit handler kept %d, its mask kept %d\n", kept.sa_handler == on_quit, sigismember(&kept.sa_mask, SIGINT));
  pthread_kill(w, SIGUSR2);
  pthread_join(w, 0);
  kill(getpid(), SIGUSR1);
  pthread_join(f, 0);
  printf("finished\n");
  return 0;
}
