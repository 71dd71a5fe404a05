// Profiles: JSON round trip, validation with one-line messages, and the paper's
// hardware derived from its Table I.
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

const fs::path kTable = fs::path(CKPTSIM_SOURCE_DIR) / "../shared/paper/table1-cases-I-II.csv";
const fs::path kPaperProfile = fs::path(CKPTSIM_SOURCE_DIR) / "data/profiles/paper-p4.json";

Profile small_profile() {
  Profile p;
  p.name = "unit";
  p.source = "calibrate";
  p.machine = {{"cpu", "test"}};
  p.assumptions = {"none"};
  p.compute_s = {{0, 3}, {1.5, 2e-8}, "order", "s", 0.999, "cubic"};
  p.process_bytes = {{2}, {12}, "order", "bytes", 1, ""};
  p.image_bytes = {{0, 1}, {4096, 1.01}, "bytes", "bytes", 1, ""};
  p.dump_s = {{0, 1}, {0.2, 1e-8}, "bytes", "s", 0.98, "linear"};
  p.copy_s = {{0, 1}, {0.01, 8e-9}, "bytes", "s", 0.97, "linear"};
  p.restore_s = {{0, 1}, {0.1, 2e-9}, "bytes", "s", 0.95, "linear"};
  p.disk_write_Bps = 1e8;
  p.disk_read_Bps = 2e8;
  p.reboot_s = 30;
  p.measurements = nlohmann::json::array({{{"order", 200}, {"dump_s", 0.3}}});
  return p;
}

std::string error_of(const nlohmann::json& j) {
  try {
    profile_from_json(j);
  } catch (const ProfileError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a profile survives save and load unchanged") {
  TempDir dir;
  const Profile p = small_profile();
  save_profile(p, dir.path() / "p.json");
  const Profile q = load_profile(dir.path() / "p.json");
  CHECK(to_json(q) == to_json(p));
  CHECK(q.dump_s.coef == p.dump_s.coef);
  CHECK(q.dump_s.r2 == p.dump_s.r2);
  CHECK(q.reboot_s == 30);
  CHECK(q.disk_read_Bps == 2e8);
  CHECK(q.job_dump_s(1000) == Approx(p.job_dump_s(1000)));
  nlohmann::json j;
  std::ifstream(dir.path() / "p.json") >> j;
  CHECK(j["schema"] == "ckptsim-profile");
  CHECK(j["schema_version"] == 1);
}

TEST_CASE("profile validation names the field in one line") {
  const nlohmann::json good = to_json(small_profile());
  auto with = [&](auto edit) {
    nlohmann::json j = good;
    edit(j);
    return error_of(j);
  };
  CHECK(error_of(good) == "no error");
  CHECK_THAT(with([](auto& j) { j["schema"] = "other"; }), Catch::Contains("schema"));
  CHECK_THAT(with([](auto& j) { j["schema_version"] = 2; }), Catch::Contains("schema_version"));
  CHECK_THAT(with([](auto& j) { j["curves"].erase("dump_s"); }), Catch::Contains("curves.dump_s: missing"));
  CHECK_THAT(with([](auto& j) { j["curves"]["copy_s"]["coef"] = {1}; }), Catch::Contains("curves.copy_s.coef"));
  CHECK_THAT(with([](auto& j) { j["curves"]["restore_s"]["coef"][0] = "x"; }),
             Catch::Contains("curves.restore_s.coef"));
  CHECK_THAT(with([](auto& j) { j["curves"]["compute_s"]["powers"] = {0, -1}; }),
             Catch::Contains("curves.compute_s.powers"));
  CHECK_THAT(with([](auto& j) { j["reboot_s"] = -1; }), Catch::Contains("reboot_s"));
  CHECK_THAT(with([](auto& j) { j["link"]["bandwidth_Bps"] = 0; }), Catch::Contains("link.bandwidth_Bps"));
  CHECK_THAT(with([](auto& j) { j["disk"]["read_Bps"] = -3; }), Catch::Contains("disk.read_Bps"));
  CHECK_THAT(with([](auto& j) { j.erase("link"); }), Catch::Contains("link: missing"));
  CHECK_THAT(error_of(nlohmann::json::array()), Catch::Contains("object"));
  CHECK(with([](auto& j) { j.erase("curves"); }).find('\n') == std::string::npos);
}

TEST_CASE("a profile's scheduler requeue delay round-trips; a profile without one loads and means none") {
  TempDir dir;
  // Without it: nothing written, nothing read back.
  const Profile plain = small_profile();
  CHECK_FALSE(to_json(plain).contains("scheduler"));
  save_profile(plain, dir.path() / "plain.json");
  const Profile q = load_profile(dir.path() / "plain.json");
  CHECK_FALSE(q.scheduler.requeue_delay_s.has_value());
  CHECK(q.scheduler.requeue_delay_s.value_or(0.0) == 0);
  CHECK(to_json(q) == to_json(plain));

  // With it: written as "scheduler": {"requeue_delay_s": X} and read back exactly.
  Profile p = small_profile();
  p.scheduler.requeue_delay_s = 12.75;
  p.scheduler.why = "measured by experiment --slurm";
  save_profile(p, dir.path() / "with.json");
  nlohmann::json j;
  std::ifstream(dir.path() / "with.json") >> j;
  CHECK(j["scheduler"]["requeue_delay_s"] == 12.75);
  CHECK(j["scheduler"]["why"] == "measured by experiment --slurm");
  const Profile r = load_profile(dir.path() / "with.json");
  REQUIRE(r.scheduler.requeue_delay_s.has_value());
  CHECK(*r.scheduler.requeue_delay_s == 12.75);
  CHECK(r.scheduler.why == p.scheduler.why);
  CHECK(to_json(r) == to_json(p));

  // An explicit 0 stays explicit.
  p.scheduler = {};
  p.scheduler.requeue_delay_s = 0.0;
  const Profile z = profile_from_json(to_json(p));
  REQUIRE(z.scheduler.requeue_delay_s.has_value());
  CHECK(*z.scheduler.requeue_delay_s == 0);
}

TEST_CASE("a bad requeue delay in a profile is refused in one line naming the field") {
  const nlohmann::json good = to_json(small_profile());
  auto with = [&](const nlohmann::json& scheduler) {
    nlohmann::json j = good;
    j["scheduler"] = scheduler;
    return error_of(j);
  };
  CHECK(with({{"requeue_delay_s", 0}}) == "no error");
  CHECK(with({{"requeue_delay_s", 5.5}}) == "no error");
  CHECK(with(nlohmann::json::object()) == "no error");
  for (const nlohmann::json& bad :
       {nlohmann::json{{"requeue_delay_s", -1}}, nlohmann::json{{"requeue_delay_s", "10"}},
        nlohmann::json{{"requeue_delay_s", std::nan("")}}, nlohmann::json{{"requeue_delay_s", HUGE_VAL}}}) {
    const std::string e = with(bad);
    INFO(bad.dump() << " -> " << e);
    CHECK_THAT(e, Catch::Contains("scheduler.requeue_delay_s"));
    CHECK(e.find('\n') == std::string::npos);
  }
  CHECK_THAT(with(3), Catch::Contains("scheduler: expected an object"));
  // In a file: a number too large for a double is refused (by the JSON parser).
  TempDir dir;
  std::string text = good.dump();
  text.insert(text.rfind('}'), R"(,"scheduler":{"requeue_delay_s":1e999})");
  std::ofstream(dir.path() / "inf.json") << text;
  try {
    load_profile(dir.path() / "inf.json");
    FAIL("loaded a profile with an infinite requeue delay");
  } catch (const ProfileError& e) {
    CHECK_THAT(e.what(), Catch::Contains("inf.json"));
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
  }
}

TEST_CASE("a profile's forked dump costs round-trip; a profile without them loads and has none") {
  TempDir dir;
  const Profile plain = small_profile();
  CHECK_FALSE(to_json(plain).contains("forked"));
  CHECK_FALSE(profile_from_json(to_json(plain)).forked.known());
  // The bundled profile, written before forked dumps were measured, loads without them.
  CHECK_FALSE(load_profile(kPaperProfile).forked.known());

  Profile p = small_profile();
  p.forked.stop_s = {{0, 1}, {0.002, 3e-11}, "bytes", "s", 0.97, "a + b*x"};
  p.forked.write_s = {{1}, {1.1e-8}, "bytes", "s", 0.99, "b*x"};
  p.forked.why = "calibrate: one forked dump per order";
  save_profile(p, dir.path() / "forked.json");
  nlohmann::json j;
  std::ifstream(dir.path() / "forked.json") >> j;
  CHECK(j["forked"]["stop_s"]["coef"][1] == 3e-11);
  CHECK(j["forked"]["write_s"]["powers"] == nlohmann::json::array({1}));
  const Profile q = load_profile(dir.path() / "forked.json");
  REQUIRE(q.forked.known());
  CHECK(to_json(q) == to_json(p));
  CHECK(q.job_forked_stop_s(1000) == Approx(0.002 + 3e-11 * q.job_process_bytes(1000)));
  CHECK(q.job_forked_write_s(1000) == Approx(1.1e-8 * q.job_image_bytes(1000)));
}

TEST_CASE("bad forked dump costs in a profile are refused in one line naming the field") {
  Profile p = small_profile();
  p.forked.stop_s = {{0, 1}, {0.002, 3e-11}, "bytes", "s", 0.97, ""};
  p.forked.write_s = {{1}, {1.1e-8}, "bytes", "s", 0.99, ""};
  const nlohmann::json good = to_json(p);
  auto with = [&](auto edit) {
    nlohmann::json j = good;
    edit(j);
    return error_of(j);
  };
  CHECK(error_of(good) == "no error");
  const std::pair<std::string, std::string> cases[] = {
      {with([](auto& j) { j["forked"] = 3; }), "forked: expected an object"},
      {with([](auto& j) { j["forked"].erase("write_s"); }), "forked.write_s: missing"},
      {with([](auto& j) { j["forked"].erase("stop_s"); }), "forked.stop_s: missing"},
      {with([](auto& j) { j["forked"]["stop_s"]["coef"][0] = "x"; }), "forked.stop_s.coef"},
      {with([](auto& j) { j["forked"]["write_s"]["coef"] = {1, 2}; }), "forked.write_s.coef"},
      {with([](auto& j) { j["forked"]["write_s"]["powers"] = {-1}; }), "forked.write_s.powers"},
      {with([](auto& j) { j["forked"]["stop_s"]["coef"][0] = -0.5; }), "forked.stop_s: is negative"},
      {with([](auto& j) { j["forked"]["why"] = 1; }), "forked.why"},
  };
  for (const auto& [e, field] : cases) {
    INFO(e);
    CHECK_THAT(e, Catch::Contains(field));
    CHECK(e.find('\n') == std::string::npos);
  }
}

TEST_CASE("loading a missing or broken file says which file, in one line") {
  TempDir dir;
  auto load_error = [](const fs::path& p) {
    try {
      load_profile(p);
    } catch (const ProfileError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(load_error(dir.path() / "none.json"), Catch::Contains("none.json"));
  std::ofstream(dir.path() / "bad.json") << "{ not json";
  const auto msg = load_error(dir.path() / "bad.json");
  CHECK_THAT(msg, Catch::Contains("bad.json") && Catch::Contains("JSON"));
  CHECK(msg.find('\n') == std::string::npos);
  std::ofstream(dir.path() / "wrong.json") << R"({"schema": "ckptsim-profile", "schema_version": 1})";
  CHECK_THAT(load_error(dir.path() / "wrong.json"), Catch::Contains("wrong.json") && Catch::Contains("curves"));
}

// The paper's table lives beside the checkout (../shared/paper); without it
// there is nothing to derive from.
#define REQUIRE_PAPER_TABLE()                                          \
  if (!fs::exists(kTable)) {                                           \
    WARN("skipped: " << kTable << " is not on this machine");          \
    return;                                                            \
  }

TEST_CASE("the paper profile reproduces Table I case I and the stated sizes") {
  REQUIRE_PAPER_TABLE();
  const Profile p = profile_from_paper_table(kTable);
  CHECK(p.source == "paper-table");
  CHECK(p.compute_s.r2 > 0.999);
  CHECK(p.dump_s.r2 > 0.5);
  CHECK(p.dump_s.r2 <= 1.0);
  // Case I by construction: the fitted compute time is within 2 % of every row.
  for (const auto& row : p.measurements) {
    const double n = row["order"];
    CHECK(p.job_compute_s(n) == Approx(row["case_I_s"].get<double>()).epsilon(0.02));
  }
  const double MiB = 1024.0 * 1024.0;
  CHECK(p.process_bytes(4100) / MiB == Approx(194.4).margin(0.5));
  CHECK(p.job_image_bytes(4100) / MiB == Approx(285).epsilon(1e-9));
  // Costs are positive and grow with size.
  for (double n : {2100.0, 4100.0, 4800.0}) {
    CHECK(p.job_dump_s(n) > 0);
    CHECK(p.job_copy_s(n) > 0);
    CHECK(p.job_restore_s(n) > 0);
  }
  CHECK(p.job_restore_s(4800) > p.job_restore_s(2100));
  CHECK(p.job_copy_s(4800) > p.job_copy_s(2100));
  CHECK(p.reboot_s == 100);
  CHECK(p.link_bandwidth_Bps == 125e6);
  CHECK(p.assumptions.size() >= 5);
}

TEST_CASE("the bundled paper-p4.json is what the table gives") {
  REQUIRE_PAPER_TABLE();
  const Profile bundled = load_profile(kPaperProfile);
  const Profile fresh = profile_from_paper_table(kTable);
  for (double n : {2100.0, 3000.0, 4100.0, 4800.0}) {
    CHECK(bundled.job_compute_s(n) == Approx(fresh.job_compute_s(n)).epsilon(1e-9));
    CHECK(bundled.job_dump_s(n) == Approx(fresh.job_dump_s(n)).epsilon(1e-9));
    CHECK(bundled.job_restore_s(n) == Approx(fresh.job_restore_s(n)).epsilon(1e-9));
    CHECK(bundled.job_copy_s(n) == Approx(fresh.job_copy_s(n)).epsilon(1e-9));
  }
}

TEST_CASE("a broken paper table is refused with one line") {
  TempDir dir;
  std::ofstream(dir.path() / "t.csv") << "matrix_order,case_I_turnaround_s,case_II_turnaround_s\n2100,206,x\n";
  CHECK_THROWS_WITH(profile_from_paper_table(dir.path() / "t.csv"), Catch::Contains("line 2"));
  CHECK_THROWS_AS(profile_from_paper_table(dir.path() / "none.csv"), ProfileError);
}
