// Attempts told ahead (sim/src/attempt_ahead.h: one wait per attempt where
// nothing shares the node, one per run of a node's jobs outside case V)
// against the same attempts told step by step (one activity per step, which
// the model runs whenever the story is told at info): the same scenario gives
// the same results and the same count of story events, in every dump mode
// and failure model the fast path covers, including failures that land
// inside a restore, a dump, a forked write and the wait for one.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "sim_test_support.h"

using namespace ckptsim;

namespace {

// The paper's profile with forked dump costs (stop 2 % of the in-process
// dump, a write as long as it), so that forked runs have something to model.
std::filesystem::path forked_profile(const simtest::TempDir& dir) {
  models::Profile p = models::load_profile(simtest::source_dir() / "data/profiles/paper-p4.json");
  p.forked.stop_s = simtest::constant(0.5, "bytes", "s");
  p.forked.write_s = simtest::constant(40, "bytes", "s");
  const auto path = dir.path() / "forked.json";
  models::save_profile(p, path);
  return path;
}

// This machine's profile with forked full and forked incremental dump costs
// (stops of 10 and 5 ms, writes of 1 s and 50 ms + 10 ms per MB changed).
std::filesystem::path forked_incremental_profile(const simtest::TempDir& dir) {
  models::Profile p = models::load_profile(simtest::source_dir() / "data/profiles/this-machine.json");
  p.forked.stop_s = simtest::constant(0.01, "bytes", "s");
  p.forked.write_s = simtest::constant(1, "bytes", "s");
  p.incremental.forked.stop = {0.005, 0, 0, 1};
  p.incremental.forked.write = {0.05, 1e-8, 0, 1};
  p.incremental.forked.dumps = 3;
  const auto path = dir.path() / "forked-incremental.json";
  models::save_profile(p, path);
  return path;
}

// simulate's JSON without the parameters (which name the log option), and
// each cell's count of story events from its cost line ("... N events in").
nlohmann::json results_of(const std::string& args) {
  const simtest::CmdRun r = simtest::run_ckptsim("simulate --workers 1 --format json " + args);
  INFO("simulate " << args << "\n" << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0));
  REQUIRE(r.code == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  j.erase("parameters");
  std::istringstream err(r.err);
  for (std::string line; std::getline(err, line);)
    if (line.rfind("[simulate] ", 0) == 0) {
      const size_t colon = line.find(": ");
      j["events"].push_back(line.substr(11, colon - 11) + line.substr(colon, line.find(" events") - colon));
    }
  REQUIRE(j.contains("events"));
  return j;
}

int kills(const nlohmann::json& j) {
  int n = 0;
  for (const auto& row : j.at("results")) n += row.at("kills").get<int>();
  return n;
}

}  // namespace

TEST_CASE("attempts told ahead give what the step-by-step run gives, failures inside every step") {
  simtest::TempDir dir;
  const std::string forked = "--profile " + forked_profile(dir).string();
  const std::vector<std::string> scenarios = {
      // node failures often enough to land in restores and dumps: III..V
      "--nodes 20 --jobs-per-node 6 --mtbf 4000 --case I,III,IIIp,IV,V --sizes 2100,3600 --replications 2 --seed 4 "
      "--interval 120",
      // per-job failures, the default interval
      "--nodes 6 --jobs-per-node 4 --failure-rate 0.6 --case III,IIIp,IV,V --sizes 3000 --replications 3 --seed 8",
      // forked dumps: failures before a fork's write completes, and waits for it
      forked + " --dump-mode forked --nodes 16 --jobs-per-node 5 --mtbf 3000 --case IV,V --sizes 2100,3000 "
               "--replications 2 --seed 6 --interval 30",
      // incremental dumps, Weibull failures, a requeue delay, spares
      "--profile " + (simtest::source_dir() / "data/profiles/this-machine.json").string() +
          " --incremental --nodes 10 --jobs-per-node 4 --mtbf 100 --weibull-shape 0.7 --case IV --interval 2 "
          "--sizes 3000 --replications 2 --seed 12 --requeue-delay 2",
      "--nodes 12 --jobs-per-node 4 --mtbf 6000 --case V --v-placement spare --spares 2 --sizes 3000 "
      "--replications 2 --seed 13",
      // forked incremental chains (run --incremental's default): writes of unequal length
      "--profile " + forked_incremental_profile(dir).string() +
          " --incremental --max-chain 3 --nodes 10 --jobs-per-node 4 --mtbf 100 --case IV,V --interval 1 "
          "--sizes 3000 --replications 2 --seed 14",
  };
  for (const std::string& s : scenarios) {
    const nlohmann::json ahead = results_of(s + " --log ckptsim.thres:warning");
    const nlohmann::json step_by_step = results_of(s + " --log ckptsim.thres:info");
    INFO(s);
    CHECK(ahead.dump(1) == step_by_step.dump(1));
    CHECK(kills(ahead) > 0);  // failures did happen
  }
}
