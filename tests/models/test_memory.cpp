// The memory term: nothing changes without a known RAM, the knee is found
// where the data puts it, and the paper's table puts it where the paper says
// swapping began.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/profile.h"
#include "temp_dir.h"

using namespace ckptsim::models;
using ckptsim::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr double MiB = 1024.0 * 1024.0;
const fs::path kTable = fs::path(CKPTSIM_SOURCE_DIR) / "../shared/paper/table1-cases-I-II.csv";

Profile linear_profile() {
  Profile p;
  p.name = "linear";
  p.compute_s = {{0, 3}, {1.5, 2e-8}, "order", "s", 1, ""};
  p.process_bytes = {{2}, {12}, "order", "bytes", 1, ""};
  p.image_bytes = {{1}, {1.5}, "bytes", "bytes", 1, ""};
  p.dump_s = {{0, 1}, {0.2, 1e-8}, "bytes", "s", 1, ""};
  p.copy_s = {{0, 1}, {0.01, 8e-9}, "bytes", "s", 1, ""};
  p.restore_s = {{0, 1}, {0.1, 2e-9}, "bytes", "s", 1, ""};
  return p;
}

}  // namespace

TEST_CASE("without RAM the costs are the curves, exactly, and the file has no memory") {
  const Profile p = linear_profile();
  for (double n : {500.0, 4100.0, 20000.0}) {
    const double image = p.image_bytes(p.process_bytes(n));
    CHECK(p.job_dump_s(n) == p.dump_s(image));
    CHECK(p.job_restore_s(n) == p.restore_s(image));
    CHECK(p.job_compute_s(n) == p.compute_s(n));
  }
  CHECK(to_json(p).count("memory") == 0);
  // This machine's calibrated profile (no RAM recorded) reads and writes as before.
  const auto file = fs::path(CKPTSIM_SOURCE_DIR) / "data/profiles/this-machine.json";
  nlohmann::json raw;
  std::ifstream(file) >> raw;
  const Profile mine = load_profile(file);
  CHECK_FALSE(mine.memory.known());
  CHECK(to_json(mine).count("memory") == 0);
  CHECK(mine.job_dump_s(3000) == mine.dump_s(mine.job_image_bytes(3000)));
}

TEST_CASE("past the knee the excess of process + image moves at swap speed, both ways") {
  Profile p = linear_profile();
  p.memory.ram_bytes = 640 * MiB;
  p.memory.reserved_bytes = 140 * MiB;  // 500 MiB usable
  p.memory.swap_Bps = 5e6;
  const double process = 200 * MiB, small_image = 250 * MiB, big_image = 400 * MiB;
  CHECK(p.dump_cost_s(process, small_image) == p.dump_s(small_image));  // 450 MiB fits
  CHECK(p.dump_cost_s(process, big_image) == Approx(p.dump_s(big_image) + 100 * MiB / 5e6));
  CHECK(p.restore_cost_s(process, big_image) == Approx(p.restore_s(big_image) + 100 * MiB / 5e6));
  CHECK(p.compute_cost_s(1000, 600 * MiB) == Approx(p.compute_s(1000) + 100 * MiB / 5e6));

  TempDir dir;
  save_profile(p, dir.path() / "m.json");
  const Profile q = load_profile(dir.path() / "m.json");
  CHECK(q.memory.ram_bytes == p.memory.ram_bytes);
  CHECK(q.memory.reserved_bytes == p.memory.reserved_bytes);
  CHECK(q.memory.swap_Bps == p.memory.swap_Bps);
  CHECK(to_json(q) == to_json(p));

  auto j = to_json(p);
  j["memory"]["reserved_bytes"] = 700 * MiB;
  CHECK_THROWS_WITH(profile_from_json(j), Catch::Contains("memory.reserved_bytes"));
  j = to_json(p);
  j["memory"].erase("ram_bytes");
  CHECK_THROWS_WITH(profile_from_json(j), Catch::Contains("memory.ram_bytes"));
}

TEST_CASE("the knee fit finds a knee that is there and none that is not") {
  std::vector<double> bytes, need, with_knee, straight;
  for (double b = 100 * MiB; b <= 600 * MiB; b += 25 * MiB) {
    bytes.push_back(b);
    need.push_back(1.6 * b);
    straight.push_back(b / 4e6);
    with_knee.push_back(b / 4e6 + std::max(0.0, 1.6 * b - 700 * MiB) / 2e6);
  }
  const KneeFit k = fit_memory_knee(bytes, need, with_knee, 1024 * MiB, 0);
  REQUIRE(k.knee);
  CHECK(k.memory.usable_bytes() == Approx(700 * MiB).margin(0.5 * MiB));
  CHECK(k.memory.swap_Bps == Approx(2e6).epsilon(1e-3));
  CHECK(1 / k.s_per_byte == Approx(4e6).epsilon(1e-3));
  for (double r : k.residuals) CHECK(std::fabs(r) < 0.5);

  const KneeFit none = fit_memory_knee(bytes, need, straight, 1024 * MiB, 0);
  CHECK_FALSE(none.knee);
  CHECK(none.memory.swap_Bps == 0);
  CHECK(1 / none.s_per_byte == Approx(4e6).epsilon(1e-9));
}

TEST_CASE("the paper profile: 640 MiB nodes, a knee from the table, case II within 0.5 points") {
  if (!fs::exists(kTable)) {
    WARN("skipped: " << kTable << " is not on this machine");
    return;
  }
  const Profile p = profile_from_paper_table(kTable);
  REQUIRE(p.memory.known());
  CHECK(p.memory.ram_bytes == 640 * MiB);
  CHECK(p.memory.reserved_bytes > 0);
  CHECK(p.memory.swap_Bps > 0);
  double mae = 0, lowest = 1e9;
  int argmin = 0;
  for (const auto& row : p.measurements) {
    const double n = row["order"], c1 = row["case_I_s"], c2 = row["case_II_s"];
    const double model = 100 * p.job_dump_s(n) / p.job_compute_s(n);
    mae += std::fabs(model - 100 * (c2 - c1) / c1) / p.measurements.size();
    if (model < lowest) {
      lowest = model;
      argmin = static_cast<int>(n);
    }
  }
  CHECK(mae <= 0.5);
  CHECK(argmin >= 4000);
  CHECK(argmin <= 4300);
}
