#include "status.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace ckptsim::ckpt {

DumpStatus read_dump_status(const fs::path& dir) {
  DumpStatus st;
  std::ifstream in(dir / ".ckpt-status");
  std::getline(in, st.line);
  std::istringstream words(st.line);
  words >> st.word >> st.seq;
  std::getline(words >> std::ws, st.rest);
  while (!st.rest.empty() && st.rest.back() == ' ') st.rest.pop_back();
  struct stat sb;
  if (::stat((dir / ".ckpt-status").c_str(), &sb) == 0) st.mtime = sb.st_mtim;
  return st;
}

bool DumpStatus::changed_since(const DumpStatus& before) const {
  return line != before.line || mtime.tv_sec != before.mtime.tv_sec || mtime.tv_nsec != before.mtime.tv_nsec;
}

unsigned long highest_image(const fs::path& dir) {
  unsigned long highest = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) != 0 || name.size() == 5) continue;
    if (name.find_first_not_of("0123456789", 5) != std::string::npos) continue;
    highest = std::max(highest, std::stoul(name.substr(5)));
  }
  return highest;
}

}  // namespace ckptsim::ckpt
