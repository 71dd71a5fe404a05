// `ckptsim simulate` through the real binary: reproducible output, the CSV
// header others parse, the figure, and one clear line with exit 2 on bad input.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "sim_test_support.h"

namespace {

using Run = simtest::CmdRun;
using simtest::slurp;

Run simulate(const std::string& args) { return simtest::run_ckptsim("simulate " + args); }

const std::string kSmall = "--sizes 2100,3000 --replications 3 --jobs-per-node 3 ";

}  // namespace

TEST_CASE("simulate: the same seed gives the same output, another seed another") {
  const Run a = simulate(kSmall + "--seed 5 --format csv");
  const Run b = simulate(kSmall + "--seed 5 --format csv --workers 1");
  const Run c = simulate(kSmall + "--seed 6 --format csv");
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  REQUIRE(c.code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
  CHECK(a.err.empty());
}

TEST_CASE("simulate: csv has the exact header and one row per order and case") {
  const Run r = simulate(kSmall + "--format csv");
  REQUIRE(r.code == 0);
  std::istringstream lines(r.out);
  std::string line;
  std::getline(lines, line);
  CHECK(line == "order,case,mean_turnaround_s,ci95_s,overhead_pct");
  int rows = 0;
  while (std::getline(lines, line)) ++rows;
  CHECK(rows == 2 * 6);
  CHECK_THAT(r.out, Catch::Contains("\n2100,I,") && Catch::Contains("\n3000,V,"));
  CHECK_THAT(r.out, Catch::Contains(",0.0000\n"));  // case I overhead
}

TEST_CASE("simulate: one case still gets its overhead against case I, json and table formats") {
  const Run csv = simulate(kSmall + "--case IV --format csv");
  REQUIRE(csv.code == 0);
  CHECK_THAT(csv.out, !Catch::Contains(",I,"));
  CHECK_THAT(csv.out, Catch::Contains(",IV,"));
  const Run json = simulate(kSmall + "--case II,IV --format json --mtbf 20000");
  REQUIRE(json.code == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["results"].size() == 4);
  CHECK(j["results"][0]["overhead_pct"].get<double>() > 0);
  const Run table = simulate(kSmall);
  REQUIRE(table.code == 0);
  CHECK_THAT(table.out, Catch::Contains("order") && Catch::Contains("IIIp") && Catch::Contains("Overhead"));
}

TEST_CASE("simulate: --plot writes the figure") {
  simtest::TempDir dir;
  const auto png = dir.path() / "sim.png";
  const Run r = simulate(kSmall + "--plot " + png.string());
  REQUIRE(r.code == 0);
  REQUIRE(std::filesystem::exists(png));
  CHECK(std::filesystem::file_size(png) > 1000);
  CHECK(slurp(png).substr(1, 3) == "PNG");
}

TEST_CASE("simulate: --plot into a directory whose name has a quote and a space (gnuplot runs without a shell)") {
  simtest::TempDir dir;
  const auto sub = dir.path() / "it's a dir";
  std::filesystem::create_directories(sub);
  const auto png = sub / "sim.png";
  const Run r = simulate(kSmall + "--plot \"" + png.string() + "\"");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(slurp(png).substr(1, 3) == "PNG");
}

TEST_CASE("simulate: bad input gives one line on stderr and exit 2") {
  simtest::TempDir dir;
  std::ofstream(dir.path() / "bad.json") << "{ nope";
  std::ofstream(dir.path() / "wrong.json") << R"({"schema": "ckptsim-profile", "schema_version": 1})";
  std::ofstream(dir.path() / "bad.xml") << "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\"><host/></platform>";
  std::ofstream(dir.path() / "nohead.xml")
      << "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
         "<platform version=\"4.1\"><zone id=\"z\" routing=\"Full\"><host id=\"a\" speed=\"1Gf\"/></zone></platform>\n";
  const std::string d = dir.path().string();
  for (const std::string& args :
       {std::string("--case VI"), std::string("--failure-rate 1.5"), std::string("--failure-rate -0.1"),
        std::string("--interval -5"), std::string("--mtbf -1"), std::string("--mtbf 0"),
        std::string("--weibull-shape 2"), std::string("--profile /nonexistent.json"),
        "--profile " + d + "/bad.json", "--profile " + d + "/wrong.json", std::string("--platform /nonexistent.xml"),
        "--platform " + d + "/bad.xml", "--platform " + d + "/nohead.xml", std::string("--sizes 4800:2100"),
        std::string("--format yaml"), std::string("--checkpoint-at 1.5"), std::string("--nodes 0"),
        std::string("--workers 0"), std::string("--workers -1"), std::string("--workers 100000"),
        std::string("--case I,I"), std::string("--case IV,II,IV")}) {
    const Run r = simulate(kSmall + args);
    INFO(args << " -> exit " << r.code << ", stderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(!r.err.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
}

TEST_CASE("simulate: runaway parameter sets and out-of-range values are refused at once, saying what is accepted") {
  // Each of these used to run for ever, abort inside SimGrid or silently become another value.
  simtest::check_refused_at_once(simtest::kRunawayInputs,
                                 [](const std::string& args) { return simulate("--sizes 2100,3000 " + args); });
  // The largest seed is a seed like any other.
  CHECK(simulate("--case I --sizes 2100 --replications 1 --jobs-per-node 1 --seed 18446744073709551615").code == 0);
}
