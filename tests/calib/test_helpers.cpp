#include "test_helpers.h"

#include <fstream>
#include <sstream>

#include "util/subprocess.h"

namespace fs = std::filesystem;

namespace calib_test {

int CliResult::err_lines() const {
  int n = 0;
  for (char c : err) n += c == '\n';
  return n;
}

fs::path ckptsim_exe() { return fs::path(CKPTSIM_BUILD_DIR) / "ckptsim"; }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CliResult run_ckptsim(const std::vector<std::string>& args, const fs::path& dir) {
  ckptsim::util::SpawnSpec spec;
  spec.argv.push_back(ckptsim_exe().string());
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.stdout_path = (dir / "cli.out").string();
  spec.stderr_path = (dir / "cli.err").string();
  ckptsim::util::ChildProcess child = ckptsim::util::spawn(spec);
  CliResult r;
  r.status = child.wait();
  r.out = read_file(dir / "cli.out");
  r.err = read_file(dir / "cli.err");
  return r;
}

}  // namespace calib_test
