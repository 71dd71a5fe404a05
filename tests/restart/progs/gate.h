// Test programs stop at a gate in the middle of their run: they create the
// MARKER file (the test then checkpoints and kills them) and poll until the GO
// file exists (the test creates it before restarting). So the checkpoint lands
// mid-run, with buffers half full, without any timing assumption.
#pragma once
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static inline void gate_announce(const char* marker) {
  int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) close(fd);
}

static inline void gate_wait(const char* go) {
  while (access(go, F_OK) != 0) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, 0);
  }
}

static inline void gate(const char* marker, const char* go) {
  gate_announce(marker);
  gate_wait(go);
}
