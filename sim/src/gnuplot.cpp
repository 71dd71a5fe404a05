#include "gnuplot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace ckptsim::sim {
namespace fs = std::filesystem;

PlotDir::PlotDir() {
  std::string tmpl = (fs::temp_directory_path() / "ckptsim-plot-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("cannot create a temporary directory for the plot: " + std::string(std::strerror(errno)));
  path_ = tmpl;
}

PlotDir::~PlotDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string gnuplot_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string run_gnuplot(const fs::path& script, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const std::string script_s = script.string();
  char* argv[] = {const_cast<char*>("gnuplot"), const_cast<char*>(script_s.c_str()), nullptr};
  pid_t pid;
  const int rc = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return std::string("cannot run gnuplot: ") + std::strerror(rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  std::ifstream in(log);
  std::string last, line;
  while (std::getline(in, line))
    if (!line.empty() && line.find_first_not_of(" ^") != std::string::npos) last = line;
  return "gnuplot failed" + (last.empty() ? std::string() : ": " + last);
}

}  // namespace ckptsim::sim
