// `run --interval auto --mtbf M`: after every complete image, the next
// interval is Daly's for the cost that image's dump had for the job (from the
// status line's stopped_ns, which runs to the end of the dump; the manifest's,
// a lower bound, had to be taken before the manifest was written), and the
// decision is logged on stderr with its inputs.
// Both forms of the dump are covered: in-process and forked (whose cost is
// only the stop until the fork, far below the time to write the image).
#include <signal.h>

#include <catch2/catch.hpp>
#include <algorithm>
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

enum class Dumps { in_process, forked };

const std::regex kOkStatus(R"(^ok \d+ (ckpt-\d+) *\n@\d+ stopped_ns=(\d+))");

void check_auto_run(Dumps kind, const std::vector<std::string>& extra) {
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
  // Rewritten in place: a read counts when the next one agrees with it.
  std::string ok_status, previous;
  for (int i = 0; i < 1000 && !(ok_status == previous && std::regex_search(ok_status, kOkStatus)); ++i) {
    previous = ok_status;
    ok_status = read_file(dir / ".ckpt-status");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
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
    if (kind == Dumps::forked)
      CHECK(std::fabs(d.cost_s - stopped) <= 1e-4);  // the stop ended at the fork, before the manifest
    else
      CHECK(d.cost_s >= stopped - 1e-4);  // and the manifest, the commit and the retention
    // The log rounds C to 4 decimals and the interval to 3: the Daly of every C
    // that rounds to the logged one, give or take the interval's rounding.
    const double lo = daly(std::max(d.cost_s - 5e-5, 1e-9), mtbf), hi = daly(d.cost_s + 5e-5, mtbf);
    CHECK(d.next_s >= 0.95 * lo - 5e-4);
    CHECK(d.next_s <= 1.05 * hi + 5e-4);
    // Never early: the next handler ran no sooner than the decided compute time
    // after the job was released (a lower bound; lateness is the machine's load).
    const uint64_t created = m.at("created_unix_ns").get<uint64_t>();
    // `run` times the interval from when it sends the signal, the manifest from
    // when the handler runs: a late delivery of the previous signal (a loaded
    // machine) shortens the measured gap by that lateness, so allow 10 ms.
    if (previous_created)
      CHECK((created - previous_created) / 1e9 >= previous_stop + previous_next - std::max(0.05 * previous_next, 0.01));
    previous_created = created;
    previous_stop = d.cost_s;
    previous_next = d.next_s;
  }
  // The status file's word on a complete image (read before the kill): its
  // whole stop, which the log line of that image took as C.
  std::smatch sm;
  INFO("status: " << ok_status);
  REQUIRE(std::regex_search(ok_status, sm, kOkStatus));
  const double whole = std::stoull(sm[2]) / 1e9;
  const nlohmann::json last = nlohmann::json::parse(read_file(dir / sm[1].str() / "manifest.json"));
  CHECK(whole >= last.at("stopped_ns").get<uint64_t>() / 1e9);
  for (const Decision& d : ds)
    if (d.image == sm[1].str()) CHECK(std::fabs(d.cost_s - whole) <= 1e-4);
}

}  // namespace

TEST_CASE("run --interval auto chooses Daly's interval from each in-process dump's measured cost") {
  check_auto_run(Dumps::in_process, {"--no-fork"});
}

TEST_CASE("run --interval auto --fork chooses from the stop until the fork, not the image write") {
  check_auto_run(Dumps::forked, {"--fork"});
}

TEST_CASE("run --interval auto --incremental follows the mean cost of the chain's last dumps") {
  TempDir t;
  const fs::path dir = t.path() / "img", ready = t.path() / "ready";
  RunningJob job(dir, {CKPT_PROBE, "alloc", "48", ready.string()}, t.path() / "out", t.path() / "err",
                 {"--interval", "auto", "--mtbf", "0.5", "--keep", "1000", "--incremental", "--max-chain", "3"});
  REQUIRE(wait_for_file(ready));
  static const std::regex line(
      R"(interval auto: (ckpt-\d+) stopped the job ([0-9.]+) s \(([0-9.]+) MB of memory written, (full|incremental)(?:, [^)]*)?\); mean of the last (\d+) dumps ([0-9.]+) s; next checkpoint after ([0-9.]+) s)");
  auto matches = [&] {
    const std::string err = read_file(t.path() / "err");
    return std::vector<std::smatch>(std::sregex_iterator(err.begin(), err.end(), line), std::sregex_iterator());
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (matches().size() < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ::kill(job.job_pid, SIGTERM);
  CHECK(job.wait() == 0);
  const std::string err = read_file(t.path() / "err");
  INFO("stderr:\n" << err);
  std::vector<double> costs;
  int incremental = 0;
  for (std::sregex_iterator it(err.begin(), err.end(), line), end; it != end; ++it) {
    const auto& m = *it;
    const nlohmann::json man = nlohmann::json::parse(read_file(dir / m[1].str() / "manifest.json"));
    costs.push_back(std::stod(m[2]));
    CHECK(costs.back() >= man.at("stopped_ns").get<uint64_t>() / 1e9 - 1e-4);
    CHECK((m[4] == "incremental") == man.at("written").at("incremental").get<bool>());
    incremental += m[4] == "incremental";
    // The mean over one chain: the last (at most 1 + 3) dumps, this one included.
    const size_t k = std::min<size_t>(4, costs.size());
    double sum = 0;
    for (size_t i = costs.size() - k; i < costs.size(); ++i) sum += costs[i];
    CHECK(std::stoul(m[5]) == k);
    CHECK(std::stod(m[6]) == Approx(sum / k).margin(1e-4));
    CHECK(std::stod(m[7]) == Approx(daly(sum / k, 0.5)).epsilon(0.05));
  }
  CHECK(costs.size() >= 5);
  CHECK(incremental >= 2);
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
