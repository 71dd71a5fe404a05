// exec_helpers.h
#include "exec_helpers.h"

#include <thread>

namespace ckpttest {

pid_t ready_pid(const fs::path& dir) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      const std::string n = e.path().filename();
      if (n.rfind("ready-", 0) == 0) return std::stoi(n.substr(6));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

std::string env_value(const std::string& env, const std::string& name, const std::string& absent) {
  for (size_t at = 0; at < env.size();) {
    const size_t end = env.find_first_of(std::string("\n\0", 2), at);
    const std::string e = env.substr(at, end - at);
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return absent;
}

std::string env_at_exec(pid_t pid, const std::string& name, const std::string& absent) {
  return env_value(read_file("/proc/" + std::to_string(pid) + "/environ"), name, absent);
}

std::string env_seen(const fs::path& dir, pid_t pid, const std::string& name, const std::string& absent) {
  return env_value(read_file(dir / ("ready-" + std::to_string(pid))), name, absent);
}

bool status_bit(pid_t pid, const std::string& field, int sig) {
  const std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
  const size_t at = status.find("\n" + field + ":");
  if (at == std::string::npos) return false;
  return (std::stoull(status.substr(at + field.size() + 2), nullptr, 16) >> (sig - 1)) & 1;
}

bool maps_library(pid_t pid) {
  return read_file("/proc/" + std::to_string(pid) + "/maps").find("/libckpt.so") != std::string::npos;
}

}  // namespace ckpttest
