// `run --interval auto --mtbf M`: after every complete image, the next
// interval is Daly's for the cost that image's dump had for the job (the
// manifest's stopped_ns), and the decision is logged on stderr with its inputs.
// Both forms of the dump are covered: in-process and forked (whose cost is
// only the stop until the fork, far below the time to write the image).
#include <signal.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <regex>
#include <thread>

#include "test_helpers.h"

using namespace ckpttest;

namespace {

// Daly (2006), written out here independently of models/interval.cpp.
double daly(double C, double M) {
  if (C >= 2 * M) return M;
  return std::sqrt(2 * C * M) * (1 + std::sqrt(C / (2 * M)) / 3 + C / (18 * M)) - C;
}

struct Decision {
  std::string image;
  double cost_s = 0, next_s = 0;
};

std::vector<Decision> decisions(const std::string& err) {
  static const std::regex line(
      R"(ckptsim: run: interval auto: (ckpt-\d+) stopped the job ([0-9.]+) s[^;]*; next checkpoint after ([0-9.]+) s \(Daly, C = ([0-9.]+) s, MTBF ([0-9.e+]+) s\))");
  std::vector<Decision> out;
  for (std::sregex_iterator it(err.begin(), err.end(), line), end; it != end; ++it)
    out.push_back({(*it)[1], std::stod((*it)[2]), std::stod((*it)[3])});
  return out;
}

void check_auto_run(const std::vector<std::string>& extra) {
  TempDir t;
  const fs::path dir = t.path() / "img", ready = t.path() / "ready";
  const double mtbf = 0.5;
  std::vector<std::string> opts = {"--interval", "auto", "--mtbf", "0.5", "--keep", "1000"};
  opts.insert(opts.end(), extra.begin(), extra.end());
  RunningJob job(dir, {CKPT_PROBE, "alloc", "48", ready.string()}, t.path() / "out", t.path() / "err", opts);
  REQUIRE(wait_for_file(ready));
  // Enough dumps for several decisions after the first measured one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (decisions(read_file(t.path() / "err")).size() < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
  const std::string err = read_file(t.path() / "err");
  INFO("stderr:\n" << err);
  CHECK(err.find("interval auto: first checkpoint after 0.500 s (Daly, no dump measured yet: assumed C = 1 s, "
                 "MTBF 0.5 s)") != std::string::npos);
  const auto ds = decisions(err);
  REQUIRE(ds.size() >= 4);
  uint64_t previous_created = 0;
  double previous_stop = 0, previous_next = 0;
  for (const Decision& d : ds) {
    const nlohmann::json m = nlohmann::json::parse(read_file(dir / d.image / "manifest.json"));
    const double stopped = m.at("stopped_ns").get<uint64_t>() / 1e9;
    INFO(d.image << ": manifest stopped " << stopped << " s, logged " << d.cost_s << " s, next " << d.next_s);
    CHECK(stopped > 0);
    CHECK(std::fabs(d.cost_s - stopped) <= 1e-4);
    CHECK(d.next_s == Approx(daly(stopped, mtbf)).epsilon(0.05));
    // Never early: the next handler ran no sooner than the decided compute time
    // after the job was released (a lower bound; lateness is the machine's load).
    const uint64_t created = m.at("created_unix_ns").get<uint64_t>();
    if (previous_created) CHECK((created - previous_created) / 1e9 >= previous_stop + 0.95 * previous_next);
    previous_created = created;
    previous_stop = stopped;
    previous_next = d.next_s;
  }
}

}  // namespace

TEST_CASE("run --interval auto chooses Daly's interval from each in-process dump's measured cost") {
  check_auto_run({});
}

TEST_CASE("run --interval auto --fork chooses from the stop until the fork, not the image write") {
  check_auto_run({"--fork"});
}

TEST_CASE("run --interval auto needs an MTBF, and --mtbf needs auto") {
  TempDir t;
  const std::string run = shell_quote(kCkptsim) + " run --dir " + (t.path() / "img").string();
  for (const auto& [args, what] : std::vector<std::pair<std::string, std::string>>{
           {" --interval auto -- true", "add --mtbf SECONDS"},
           {" --interval 2 --mtbf 60 -- true", "--mtbf is used only with --interval auto"},
           {" --interval automatic --mtbf 60 -- true", "--interval"},
           {" --interval auto --mtbf 0 -- true", "--mtbf"},
           {" --interval auto --mtbf nan -- true", "--mtbf"}}) {
    const CmdResult r = run_shell(run + args);
    INFO(args << "\nstderr: " << r.err);
    CHECK(r.status == 2);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(what) != std::string::npos);
  }
  CHECK(!fs::exists(t.path() / "img"));
}
