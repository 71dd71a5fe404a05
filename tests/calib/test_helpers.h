// Shared by the calib tests: a private temp directory, and running the CLI.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace calib_test {

// mkdtemp under $TMPDIR or /tmp; removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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
