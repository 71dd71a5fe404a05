// Keeping the library in every program the job execs (exec_guard.cpp, the
// interposed exec and spawn calls; exec_env.cpp, what they add). Everything
// here may run in a vfork child: no allocation, no locks, raw system calls.
#pragma once
#include <stddef.h>

namespace ckptlib::exec_guard {

// Called once by the library's constructor, after its handler is installed:
// `sig` is the checkpoint signal it catches (0: none, so no exec blocks it);
// `dir` the absolute checkpoint directory it resolved (nullptr: not resolved).
// Records this library's path and the CKPT_* variables it started with.
void start(int sig, const char* dir);

// The signal the exec guard of the image before this exec blocked for it (0:
// none); the mark saying so is taken out of the environment.
int take_mark();

// -- for exec_guard.cpp --
int checkpoint_signal();  // 0 until start, or when no signal is caught
bool active();            // start found this library's path

constexpr size_t kMaxEnv = 8192;  // entries of an environment we copy
constexpr size_t kMaxVars = 16;   // CKPT_* variables recorded
constexpr size_t kExtra = kMaxVars + 3;  // + LD_PRELOAD, the mark, the end

// Strings the new environment may need, in the caller's frame.
struct EnvRoom {
  char preload[8192];
  char mark[40];
};

// Entries of envp (nullptr: none), or kMaxEnv + 1 when there are more.
size_t count(char* const* envp);
// envp with what the library needs added, written to out (count(envp) +
// kExtra entries), with the mark for `mark_sig` when it is not 0. nullptr
// when it does not fit, or out or room is nullptr: the caller execs envp
// unchanged (said on stderr).
char* const* complete_env(char* const* envp, size_t n, const char** out, EnvRoom* room, int mark_sig);
// Would the program at dirfd/path (execveat's at_flags) load this library?
// False for a statically linked, 32-bit or set-user-ID one; true when unsure.
bool loads_library(int dirfd, const char* path, int at_flags);
// The same for `file` looked up on PATH as execvp does.
bool found_loads_library(const char* file);
// Every libc function the interposers call on, looked up now (dlsym is not
// for a vfork child).
void lookup_all();
// One line on stderr.
void say(const char* a, const char* b = "");

}  // namespace ckptlib::exec_guard
