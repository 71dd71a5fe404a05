// Shared by the calib tests: a private temp directory, and running the CLI.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace calib_test {

using ckptsim::test::TempDir;

struct CliResult {
  int status = -1;
  std::string out, err;
  int err_lines() const;
};

std::filesystem::path ckptsim_exe();
// Runs build/ckptsim with args; stdout and stderr captured separately (via files in dir).
CliResult run_ckptsim(const std::vector<std::string>& args, const std::filesystem::path& dir);

std::string read_file(const std::filesystem::path& p);

}  // namespace calib_test
