/* PROBE_STACK_KB: the stack size of a probe's threads (default glibc's,
 * 8 MiB), to tell what thread stacks cost a checkpoint image. */
#pragma once
#include <pthread.h>
#include <stdlib.h>

static inline pthread_attr_t* probe_stack_attr(void) {
  static pthread_attr_t attr;
  const char* kb = getenv("PROBE_STACK_KB");
  if (!kb || !*kb) return 0;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, (size_t)atol(kb) << 10);
  return &attr;
}
