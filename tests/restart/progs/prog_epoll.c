// An epoll instance at fd 70 watching a pipe (level-triggered), an eventfd
// (edge-triggered) and a second pipe (one-shot), each with its own data.
// After the restore: events arrive with their data, EPOLL_CTL_DEL by the
// restored process's fd number works, and a fired one-shot item stays off.
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "gate.h"

static void wait_and_print(int ep, const char* when) {
  struct epoll_event evs[8];
  int n = epoll_wait(ep, evs, 8, 200);
  printf("%s: %d ready\n", when, n);
  for (int i = 0; i < n; ++i)
    printf("  events %#x data %#llx\n", evs[i].events, (unsigned long long)evs[i].data.u64);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int a[2], c[2];
  if (pipe(a) != 0 || pipe(c) != 0) return 1;
  const int ar = dup2(a[0], 51), aw = dup2(a[1], 52), cr = dup2(c[0], 53), cw = dup2(c[1], 54);
  close(a[0]), close(a[1]), close(c[0]), close(c[1]);
  const int ev = dup2(eventfd(0, EFD_NONBLOCK), 55);
  const int ep = dup2(epoll_create1(0), 70);
  struct epoll_event e = {.events = EPOLLIN, .data.u64 = 0x1111222233334444ull};
  epoll_ctl(ep, EPOLL_CTL_ADD, ar, &e);
  e.events = EPOLLIN | EPOLLET, e.data.u64 = 0xeeee;
  epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e);
  e.events = EPOLLIN | EPOLLONESHOT, e.data.u64 = 0x0ce;
  epoll_ctl(ep, EPOLL_CTL_ADD, cr, &e);
  if (write(cw, "1", 1) != 1) return 1;
  wait_and_print(ep, "before the checkpoint, one-shot fires");

  gate(argv[1], argv[2]);

  if (write(aw, "x", 1) != 1) return 1;
  uint64_t one = 1;
  if (write(ev, &one, sizeof one) != sizeof one) return 1;
  if (write(cw, "2", 1) != 1) return 1;
  wait_and_print(ep, "after the restore");
  wait_and_print(ep, "again (edge-triggered eventfd quiet)");
  printf("EPOLL_CTL_DEL fd %d: %d\n", ar, epoll_ctl(ep, EPOLL_CTL_DEL, ar, NULL));
  wait_and_print(ep, "after deleting the pipe");
  return 0;
}
