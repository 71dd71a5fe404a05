// `ckptsim sweep` through the binary: identical output for any worker count and
// for merged shards, and one clear line with exit 2 for every bad input.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "sim_test_support.h"

namespace {

using Run = simtest::CmdRun;
using simtest::slurp;

// Runs `ckptsim sweep ARGS` (the directory keeps the caller's files).
Run sweep(const simtest::TempDir&, const std::string& args) { return simtest::run_ckptsim("sweep " + args); }

// A small sweep on a constant-cost profile: a few seconds of simulation.
struct SmallSweep {
  simtest::TempDir dir;
  std::string args;
  SmallSweep() {
    const auto profile = dir.path() / "flat.json";
    ckptsim::models::save_profile(simtest::flat_profile(1000, 10, 5, 30), profile);
    args = "--profile " + profile.string() +
           " --sizes 1000,2000 --interval 60:300:60 --nodes 2 --jobs-per-node 2 --replications 4 --seed 3 -q";
  }
};

bool one_line(const std::string& s) { return !s.empty() && s.find('\n') == s.size() - 1; }

}  // namespace

TEST_CASE("sweep CLI: workers 1 and 2 and merged shards give identical CSV") {
  SmallSweep s;
  const auto one = sweep(s.dir, s.args + " --format csv --workers 1");
  REQUIRE(one.code == 0);
  CHECK(one.out.rfind("order,interval_s,mean_turnaround_s,ci95_s,overhead_pct\n", 0) == 0);
  CHECK(std::count(one.out.begin(), one.out.end(), '\n') == 1 + 2 * 5);
  const auto two = sweep(s.dir, s.args + " --format csv --workers 2");
  REQUIRE(two.code == 0);
  CHECK(two.out == one.out);

  const auto a = s.dir.path() / "a.json", b = s.dir.path() / "b.json";
  REQUIRE(sweep(s.dir, s.args + " --shard 1/2 --workers 2 -o " + a.string()).code == 0);
  REQUIRE(sweep(s.dir, s.args + " --shard 2/2 --workers 1 -o " + b.string()).code == 0);
  const auto merged = sweep(s.dir, "--merge " + b.string() + " " + a.string() + " --format csv");
  REQUIRE(merged.code == 0);
  CHECK(merged.out == one.out);

  // The same for the table, which carries the per-order summary and the final line.
  const auto table = sweep(s.dir, s.args + " --workers 2");
  const auto merged_table = sweep(s.dir, "--merge " + a.string() + " " + b.string());
  REQUIRE(table.code == 0);
  CHECK(merged_table.out == table.out);
  CHECK(table.out.find("\nbest: order ") != std::string::npos);

  // Shards of another sweep, or a missing shard, are refused.
  const auto c = s.dir.path() / "c.json";
  std::string other = s.args;
  other.replace(other.find("--seed 3"), 8, "--seed 4");
  REQUIRE(sweep(s.dir, other + " --shard 2/2 -o " + c.string()).code == 0);
  const auto mixed = sweep(s.dir, "--merge " + a.string() + " " + c.string());
  CHECK(mixed.code == 2);
  CHECK(one_line(mixed.err));
  CHECK(mixed.err.find("different sweep") != std::string::npos);
  const auto missing = sweep(s.dir, "--merge " + a.string());
  CHECK(missing.code == 2);
  CHECK(one_line(missing.err));
  CHECK(missing.err.find("missing shard(s) 2/2") != std::string::npos);
}

TEST_CASE("sweep CLI: json has the summary and --plot draws a PNG") {
  SmallSweep s;
  const auto png = s.dir.path() / "sweep.png";
  const auto r = sweep(s.dir, s.args + " --format json --plot " + png.string());
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j.at("orders").size() == 2);
  CHECK(j.at("best").at("order").is_number());
  CHECK(j.at("orders")[0].at("young").at("interval_s").get<double>() > 0);
  CHECK(j.at("partial") == false);
  const auto bytes = slurp(png);
  REQUIRE(bytes.size() > 1000);
  CHECK(bytes.substr(1, 3) == "PNG");
}

TEST_CASE("sweep CLI: bad input is one line on stderr and exit 2") {
  SmallSweep s;
  const auto profile_arg = s.args.substr(0, s.args.find(" --sizes"));
  for (const std::string bad :
       {"--interval 300:100", "--interval 100:300:0", "--interval 100:300:-10", "--interval ,",
        "--interval ''", "--interval 10,x", "--interval abc", "--shard 0/2", "--shard 3/2", "--shard garbage",
        "--case III", "--failure-rate 1.5", "--failure-rate 0", "--mtbf -5", "--sizes 300:100",
        "--weibull-shape 2", "--format xml", "--profile /nonexistent/profile.json", "--merge /nonexistent.json",
        "--workers 0", "--workers -1", "--workers 100000"}) {
    INFO(bad);
    const std::string args =
        bad.rfind("--profile", 0) == 0 || bad.rfind("--merge", 0) == 0 ? bad : profile_arg + " --sizes 1000 -q " + bad;
    const auto r = sweep(s.dir, args);
    CHECK(r.code == 2);
    CHECK(one_line(r.err));
    CHECK(r.err.rfind("ckptsim: ", 0) == 0);
    CHECK(r.out.empty());
  }
}

TEST_CASE("sweep CLI: runaway parameter sets and out-of-range values are refused at once, before any worker") {
  SmallSweep s;
  const auto profile_arg = s.args.substr(0, s.args.find(" --sizes"));
  auto inputs = simtest::kRunawayInputs;
  inputs.push_back({"--interval 1e-6,60", "intervals of at least"});
  simtest::check_refused_at_once(
      inputs, [&](const std::string& bad) { return sweep(s.dir, profile_arg + " --sizes 1000 -q " + bad); });
}
