#include "gnuplot.h"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include "util/subprocess.h"

namespace ckptsim::sim {
namespace fs = std::filesystem;

util::ScratchDir make_plot_dir() {
  util::ScratchDir dir = util::ScratchDir::create((fs::temp_directory_path() / "ckptsim-plot-XXXXXX").string());
  if (!dir)
    throw std::runtime_error("cannot create a temporary directory for the plot: " + std::string(std::strerror(errno)));
  return dir;
}

std::string gnuplot_quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string run_gnuplot(const fs::path& script) {
  util::CommandResult res;
  try {
    res = util::run_command({"gnuplot", script.string()});
  } catch (const std::runtime_error& e) {
    const std::string why = e.what();  // "cannot start gnuplot: why" (else taken whole)
    const auto colon = why.find(": ");
    return "cannot run gnuplot: " + (colon == std::string::npos ? why : why.substr(colon + 2));
  }
  if (res.status == 0) return "";
  // gnuplot underlines the offending column with a line of spaces and '^'.
  std::istringstream in(res.output);
  std::string last, line;
  while (std::getline(in, line))
    if (!line.empty() && line.find_first_not_of(" ^") != std::string::npos) last = line;
  return "gnuplot failed" + (last.empty() ? std::string() : ": " + last);
}

}  // namespace ckptsim::sim
