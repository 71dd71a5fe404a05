// Drawing with gnuplot, for simulate --plot and sweep --plot: a private
// scratch directory for its inputs, its string quoting, and running it
// without a shell (a quote or a space in a path is just a character).
#pragma once
#include <filesystem>
#include <string>

#include "util/scratch_dir.h"

namespace ckptsim::sim {

// A private (0700) scratch directory for gnuplot's inputs, removed on every
// path out. Throws std::runtime_error if it cannot be created.
util::ScratchDir make_plot_dir();

// A gnuplot string: single-quoted, a quote inside doubled.
std::string gnuplot_quoted(const std::string& s);

// Runs `gnuplot SCRIPT`. "" when it succeeded, else why it did not (the last
// thing gnuplot said).
std::string run_gnuplot(const std::filesystem::path& script);

}  // namespace ckptsim::sim
