// Drawing with gnuplot, for simulate --plot and sweep --plot: a private
// scratch directory for its inputs, its string quoting, and running it
// without a shell (a quote or a space in a path is just a character).
#pragma once
#include <filesystem>
#include <string>

namespace ckptsim::sim {

// A private (0700) scratch directory, removed on every path out. Throws
// std::runtime_error if it cannot be created.
class PlotDir {
 public:
  PlotDir();
  ~PlotDir();
  PlotDir(const PlotDir&) = delete;
  PlotDir& operator=(const PlotDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A gnuplot string: single-quoted, a quote inside doubled.
std::string gnuplot_quoted(const std::string& s);

// Runs `gnuplot SCRIPT`, its stderr into LOG. "" when it succeeded, else why
// it did not (the last thing gnuplot said).
std::string run_gnuplot(const std::filesystem::path& script, const std::filesystem::path& log);

}  // namespace ckptsim::sim
