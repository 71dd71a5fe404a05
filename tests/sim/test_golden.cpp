// Same seed, same output, before and after any change that is meant only to
// make the simulator faster: each scenario of golden/cases.txt against the
// output the code gave before (golden/NAME). CKPTSIM_WRITE_GOLDEN=1 writes
// the files instead (only ever from the code they are meant to pin down).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sim_test_support.h"

namespace {

const std::filesystem::path kDir = simtest::source_dir() / "tests/sim/golden";

// The profile's path is where the sources are: not part of the result.
std::string without_source_dir(std::string text) {
  const std::string dir = simtest::source_dir().string();
  for (size_t at; (at = text.find(dir)) != std::string::npos;) text.replace(at, dir.size(), "SRC");
  return text;
}

// "[host:actor:(pid) 12.500000] [ckptsim/INFO] message" -> "12.500000 message",
// sorted within each cell: the events and their times, whoever tells them and
// in whichever order among equal times. Each cell's cost line ends its story
// ("[simulate] order 2100 case IV: ... events in ... s"): its name is kept,
// the wall time and memory are not.
std::string story(const std::string& err) {
  std::string out;
  std::vector<std::string> lines;
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("[simulate] ", 0) == 0) {
      std::sort(lines.begin(), lines.end());
      for (const auto& l : lines) out += l + "\n";
      lines.clear();
      out += "== " + line.substr(11, line.find(':') - 11) + "\n";
      continue;
    }
    const size_t tag = line.find("] [ckptsim/INFO] ");
    if (tag == std::string::npos) continue;
    const size_t time = line.rfind(' ', tag);
    lines.push_back(line.substr(time + 1, tag - time - 1) + " " + line.substr(tag + 17));
  }
  REQUIRE(lines.empty());  // every cell's story ends with its cost line
  return out;
}

}  // namespace

TEST_CASE("simulate: a fixed seed's output is byte-identical to the golden files", "[golden]") {
  const bool write = std::getenv("CKPTSIM_WRITE_GOLDEN") != nullptr;
  std::ifstream cases(kDir / "cases.txt");
  REQUIRE(cases);
  int checked = 0;
  for (std::string line; std::getline(cases, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::string name = line.substr(0, line.find(' '));
    std::string args = line.substr(name.size() + 1);
    for (size_t at; (at = args.find("SRC/")) != std::string::npos;) args.replace(at, 3, simtest::source_dir().string());
    const bool is_story = name.size() > 6 && name.substr(name.size() - 6) == ".story";
    const simtest::CmdRun r = simtest::run_ckptsim("simulate --workers 1 " + args);
    INFO(name << ": simulate " << args << "\n" << r.err);
    REQUIRE(r.code == 0);
    const std::string got = without_source_dir(is_story ? story(r.err) : r.out);
    if (write) {
      std::ofstream(kDir / name) << got;
    } else {
      const std::string want = simtest::slurp(kDir / name);
      REQUIRE(!want.empty());
      CHECK(got == want);  // no Approx: the same bytes
    }
    ++checked;
  }
  CHECK(checked == 8);
}
