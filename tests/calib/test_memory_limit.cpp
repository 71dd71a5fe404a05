// calibrate --memory-limit: jobs, dumps and restores in a real memory cgroup.
// A job that cannot fit is reported (one line, a row marked oom), never a
// silent SIGKILL; the control group is gone afterwards, also after a failure
// and after Ctrl-C. Skipped (one line) without root or a memory controller.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "calib/fit.h"
#include "calib/memory_cgroup.h"
#include "models/profile.h"
#include "test_helpers.h"
#include "util/subprocess.h"

namespace fs = std::filesystem;
using ckptsim::calib::MemoryCgroup;

namespace {
// Groups left by calibrations whose process is gone. Live ones (another test
// calibrating at the same time under ctest -j) are not leftovers.
int dead_calibration_groups(const fs::path& parent) {
  int left = 0;
  for (const auto& e : fs::directory_iterator(parent)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckptsim-calib-", 0) != 0) continue;
    left += !fs::exists("/proc/" + name.substr(14));
  }
  return left;
}
}  // namespace

namespace {

// The parent under which calibrate (our child, same cgroup) makes its group;
// empty (and one line on stderr) when cgroups cannot be used here.
fs::path cgroup_parent_or_skip() {
  if (geteuid() != 0) {
    std::fprintf(stderr, "skipped: --memory-limit needs root (it creates a memory control group)\n");
    return {};
  }
  try {
    return MemoryCgroup::own_memory_cgroup();
  } catch (const ckptsim::calib::CgroupUnavailable& e) {
    std::fprintf(stderr, "skipped: %s\n", e.what());
    return {};
  }
}

int count_lines_with(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("parse_memory_size reads K/M/G sizes and refuses nonsense", "[memory-limit]") {
  using ckptsim::calib::parse_memory_size;
  CHECK(parse_memory_size("640M") == 640ull << 20);
  CHECK(parse_memory_size("640MB") == 640ull << 20);
  CHECK(parse_memory_size("1.5G") == 3ull << 29);
  CHECK(parse_memory_size("65536") == 65536);
  CHECK(parse_memory_size("512k") == 512ull << 10);
  for (const std::string bad : {"", "abc", "-5M", "0", "10Q", "M", "nanM", "1e30G"}) {
    INFO("'" << bad << "'");
    CHECK_THROWS_AS(parse_memory_size(bad), std::invalid_argument);
  }
}

TEST_CASE("calibrate refuses an unparsable or too small --memory-limit with one line, exit 2", "[memory-limit][cli]") {
  calib_test::TempDir tmp;
  const auto out = (tmp.path() / "p.json").string();
  for (const std::string bad : {"abc", "10M", "-640M", "0", "640Q"}) {
    INFO("--memory-limit " << bad);
    auto r = calib_test::run_ckptsim({"calibrate", "--sizes", "200:400:200", "--memory-limit", bad, "--out", out},
                                     tmp.path());
    CHECK(r.status == 2);
    CHECK(r.err_lines() == 1);
    CHECK(r.err.find("--memory-limit") != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }
  // It shapes a measurement: not with --show or --from-table.
  auto r = calib_test::run_ckptsim({"calibrate", "--show", out, "--memory-limit", "640M"}, tmp.path());
  CHECK(r.status == 2);
  CHECK(r.err_lines() == 1);
  CHECK(r.err.find("--memory-limit") != std::string::npos);
}

TEST_CASE("under a small limit, a job that cannot fit is reported as OOM and the group is removed",
          "[memory-limit][real]") {
  const fs::path parent = cgroup_parent_or_skip();
  if (parent.empty()) return;
  calib_test::TempDir tmp;
  const fs::path out = tmp.path() / "limited.json";
  // 64 MiB: order 200 and 400 fit easily; 1800 (39 MB of matrices, a 76 MB
  // image) fits as a process but its dump must push the image's page cache
  // out under the limit; 2280 (62 MB of matrices) leaves the dump no room for
  // its buffers (here it is OOM-killed in the dump, or already while building
  // its matrices); 2600 (81 MB of matrices) cannot fit at all. The compute
  // runs are the checkpointed orders (the default).
  auto r = calib_test::run_ckptsim({"calibrate", "--sizes", "200,400,1800,2280,2600", "--reps", "1", "--memory-limit",
                                    "64M", "--no-disk-probe", "--copy", "loopback", "--work-dir",
                                    tmp.path().string(), "--out", out.string(), "--plot",
                                    (tmp.path() / "limited.png").string()},
                                   tmp.path());
  INFO("stderr: " << r.err);
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(calib_test::read_file(out));
  auto p = ckptsim::models::load_profile(out);
  CHECK(p.memory.ram_bytes == Approx(64.0 * 1048576));
  int oom_rows = 0, measured = 0;
  for (const auto& row : j.at("measurements")) {
    INFO(row.dump());
    const int n = row.at("order");
    if (!row.at("oom").is_null()) {
      ++oom_rows;
      const std::string phase = row.at("oom");
      CHECK((phase == "job" || phase == "dump" || phase == "restore" || phase == "restored job"));
      // One clear line per OOM row, naming the order.
      CHECK(r.err.find("order " + std::to_string(n) + " rep 1: the") != std::string::npos);
      continue;
    }
    ++measured;
    CHECK(row.at("dump_s").get<double>() > 0);
    CHECK(row.at("restore_s").get<double>() > 0);
    CHECK(row.at("progressing").get<bool>());
    // Charged to the group and within its limit.
    CHECK(row.at("dump_peak_bytes").get<uint64_t>() > 0);
    CHECK(row.at("dump_peak_bytes").get<uint64_t>() <= 64ull << 20);
    if (n == 1800) CHECK(row.at("limit_hits").get<uint64_t>() > 0);  // the dump ran against the limit
  }
  CHECK(measured >= 2);
  CHECK(oom_rows >= 1);  // 2600 at least
  CHECK(count_lines_with(r.err, "OOM-killed") >= oom_rows);
  // The compute run at 2600 was OOM-killed too, and said so; the others are timed at the checkpointed orders.
  bool compute_oom = false;
  std::set<int> timed;
  for (const auto& c : j.at("fits").at("compute_runs")) {
    if (c.value("oom", false)) compute_oom = compute_oom || c.at("order") == 2600;
    else timed.insert(c.at("order").get<int>());
  }
  CHECK(compute_oom);
  for (int n : {200, 400, 1800}) CHECK(timed.count(n) == 1);
  CHECK(timed.count(2600) == 0);
  CHECK(fs::file_size(tmp.path() / "limited.png") > 1000);
  // No group of ours left.
  CHECK(dead_calibration_groups(parent) == 0);
}

TEST_CASE("the control group is removed after a failed calibration and after Ctrl-C, a stale one by the next",
          "[memory-limit][real]") {
  const fs::path parent = cgroup_parent_or_skip();
  if (parent.empty()) return;
  calib_test::TempDir tmp;
  // What a calibration killed with SIGKILL leaves: a group named after a dead pid.
  pid_t dead = 0;
  {
    ckptsim::util::SpawnSpec t;
    t.argv = {"true"};
    ckptsim::util::ChildProcess c = ckptsim::util::spawn(t);
    dead = c.pid();
    c.wait();
  }
  const fs::path stale = parent / ("ckptsim-calib-" + std::to_string(dead));
  REQUIRE(fs::create_directory(stale));
  {
    // Only the verify order fits: nothing to fit a curve to, exit 1.
    auto r = calib_test::run_ckptsim({"calibrate", "--sizes", "2600,3000", "--verify-order", "200", "--reps", "1",
                                      "--compute-sizes", "100,150,200", "--memory-limit", "64M", "--no-disk-probe",
                                      "--copy", "loopback", "--work-dir", tmp.path().string(), "--out",
                                      (tmp.path() / "failed.json").string()},
                                     tmp.path());
    INFO("stderr: " << r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("no profile written") != std::string::npos);
    CHECK(count_lines_with(r.err, "OOM-killed") >= 2);  // 2600 and 3000, each said
    CHECK_FALSE(fs::exists(stale));  // removed by the next calibration
  }
  {
    ckptsim::util::SpawnSpec spec;
    spec.argv = {calib_test::ckptsim_exe().string(), "calibrate", "--sizes", "1500,1600", "--reps", "3",
                 "--compute-sizes", "100,150,200", "--memory-limit", "256M", "--no-disk-probe", "--copy",
                 "loopback", "--work-dir", tmp.path().string(), "--out", (tmp.path() / "stopped.json").string()};
    spec.stderr_path = (tmp.path() / "stopped.err").string();
    ckptsim::util::ChildProcess calibrate = ckptsim::util::spawn(spec);
    const fs::path group = parent / ("ckptsim-calib-" + std::to_string(calibrate.pid()));
    // Wait until something runs in the group, then Ctrl-C.
    bool busy = false;
    for (int i = 0; i < 3000 && !busy && !calibrate.try_wait(); ++i) {
      std::ifstream procs(group / "cgroup.procs");
      int pid = 0;
      busy = static_cast<bool>(procs >> pid);
      if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(busy);
    kill(calibrate.pid(), SIGINT);
    const int st = calibrate.wait();
    INFO("stderr: " << calib_test::read_file(tmp.path() / "stopped.err"));
    CHECK((st == 130 || st == 1));
    CHECK_FALSE(fs::exists(group));
  }
  CHECK(dead_calibration_groups(parent) == 0);
}

namespace {
// A limited calibration's result, made up: dumps and restores that bend where
// process + image passes `usable`, when `bend`; one order OOM-killed.
ckptsim::calib::CalibrationResult limited_result(bool bend) {
  ckptsim::calib::CalibrationResult r;
  const double usable = 600.0 * 1048576, excess_Bps = 50e6;
  for (int n = 2100; n <= 4800; n += 300) {
    ckptsim::calib::MeasureRow w;
    w.order = n;
    w.rep = 1;
    w.rss_bytes = static_cast<uint64_t>(12.0 * n * n + 3e6);
    w.image_bytes = static_cast<uint64_t>(1.67 * w.rss_bytes);
    const double need = static_cast<double>(w.rss_bytes + w.image_bytes);
    const double extra = bend && need > usable ? (need - usable) / excess_Bps : 0;
    w.dump_s = w.image_bytes / 500e6 + extra + (n % 600 ? 1e-3 : -1e-3);
    w.copy_s = w.image_bytes / 117e6;
    w.restore_s = w.image_bytes / 3e9 + extra;
    w.progressing = true;
    r.rows.push_back(w);
  }
  ckptsim::calib::MeasureRow killed;
  killed.order = 5200;
  killed.rep = 1;
  killed.oom = "job";
  r.rows.push_back(killed);
  for (int n : {2100, 3600, 4800}) r.compute.push_back({n, 1e-9 * n * n * n});
  r.compute.push_back({5200, 0, true, 640ull << 20});
  r.calibrated_orders = {2100, 2400, 2700, 3000, 3300, 3600, 3900, 4200, 4500, 4800, 5200};
  r.machine = {{"cpu", "test"}, {"swap_bytes", 0}};
  r.copy_kind = "netns";
  r.nominal_link_Bps = 125e6;
  r.memory_limit_bytes = 640ull << 20;
  r.cgroup_version = 1;
  return r;
}
}  // namespace

TEST_CASE("a limited calibration's profile has the limit as RAM, and the knee when the dumps bend",
          "[memory-limit][fit]") {
  {
    auto fitted = ckptsim::calib::build_profile(limited_result(true), "bent");
    const auto& p = fitted.profile;
    CHECK(p.memory.ram_bytes == Approx(640.0 * 1048576));
    CHECK(p.memory.usable_bytes() == Approx(600.0 * 1048576).epsilon(0.01));
    CHECK(p.memory.swap_Bps == Approx(50e6).epsilon(0.05));
    CHECK(p.dump_s.coef.back() == Approx(1 / 500e6).epsilon(0.02));
    // The restore's curve is what is left without the memory term (not counted twice).
    CHECK(p.restore_s.coef.back() == Approx(1 / 3e9).epsilon(0.02));
    CHECK(fitted.notes.back().find("knee found") != std::string::npos);
    CHECK(fitted.fit_details.at("memory").at("knee") == true);
    // The OOM-killed row is kept as such, never fitted.
    CHECK(fitted.fit_details.at("dump_s").at("x").size() == 10);
    CHECK(p.measurements.back().at("oom") == "job");
  }
  {
    auto fitted = ckptsim::calib::build_profile(limited_result(false), "straight");
    const auto& p = fitted.profile;
    CHECK(p.memory.ram_bytes == Approx(640.0 * 1048576));
    CHECK(p.memory.swap_Bps == 0);
    CHECK(p.job_dump_s(4800) == Approx(p.dump_s(p.job_image_bytes(4800))));  // no memory term
    CHECK(fitted.notes.back().find("no knee found") != std::string::npos);
    CHECK(fitted.notes.back().find("MiB measured") != std::string::npos);
  }
}
