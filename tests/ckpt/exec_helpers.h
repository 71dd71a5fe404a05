// What the exec guard's tests (test_exec_guard.cpp, test_exec_window.cpp) read
// of a program started as `exec_probe wait DIR` (progs/exec_probe.c).
#pragma once
#include <sys/types.h>

#include <string>

#include "ckpt/image_format.h"
#include "test_helpers.h"

namespace ckpttest {

inline const std::string kExecProbe = CKPT_EXEC_PROBE;
inline const std::string kExecProbeStatic = CKPT_EXEC_PROBE_STATIC;
inline const std::string kExecFail = CKPT_EXEC_FAIL;
// The variable the guard sets for an exec it made with the signal blocked.
inline const std::string kMark = ckptsim::image_format::env::kExecBlocked;

// The pid of the `exec_probe wait DIR` that wrote DIR/ready-PID (-1 after 60 s).
pid_t ready_pid(const fs::path& dir);
// NAME's value in an environment of NUL- or newline-separated NAME=VALUE
// entries; `absent` when it has none.
std::string env_value(const std::string& env, const std::string& name, const std::string& absent = "");
// NAME's value in the environment pid was exec'd with (/proc/PID/environ).
std::string env_at_exec(pid_t pid, const std::string& name, const std::string& absent = "");
// NAME's value in the environment `exec_probe wait` saw once the library's
// constructor had run (its ready file).
std::string env_seen(const fs::path& dir, pid_t pid, const std::string& name, const std::string& absent = "");
// Bit `sig` of the /proc/PID/status mask `field` (SigBlk, SigCgt, SigPnd).
bool status_bit(pid_t pid, const std::string& field, int sig);
bool maps_library(pid_t pid);  // /proc/PID/maps names libckpt.so

}  // namespace ckpttest
