// What calibrate writes: a profile that round-trips through models and validates,
// with its machine description and raw rows; a broken profile is refused (exit 2).
#include <catch2/catch.hpp>
#include <fstream>

#include "calib/fit.h"
#include "calib/report.h"
#include "models/profile.h"
#include "test_helpers.h"

namespace fs = std::filesystem;

namespace {
// A plausible calibration result (what run_calibration returns), made up.
ckptsim::calib::CalibrationResult synthetic_result() {
  ckptsim::calib::CalibrationResult r;
  for (int n = 2100; n <= 4800; n += 300)
    for (int rep = 1; rep <= 2; ++rep) {
      ckptsim::calib::MeasureRow w;
      w.order = n;
      w.rep = rep;
      w.rss_bytes = static_cast<uint64_t>(12.0 * n * n + 3e6);
      w.mapped_bytes = w.rss_bytes + 20000000;
      w.image_bytes = w.rss_bytes + 2000000;
      w.image_disk_bytes = w.image_bytes;
      w.image_files = 4;
      w.dump_s = 0.05 + w.image_bytes / 400e6 + rep * 1e-3;
      w.copy_s = w.image_bytes / 117e6 + rep * 1e-3;
      w.restore_s = 0.02 + w.image_bytes / 3e9 + rep * 1e-4;
      w.progressing = true;
      w.restored_from = "received copy";
      r.rows.push_back(w);
    }
  for (int n : {300, 600, 900, 1200}) r.compute.push_back({n, 1e-9 * n * n * n + 0.01});
  r.machine = {{"cpu", "test cpu"}, {"kernel", "6.18"}, {"image_fs", "ext2/ext3/ext4"}};
  r.link = {{"kind", "netns"}};
  r.machine["link"] = r.link;
  r.nominal_link_Bps = 125e6;
  r.disk_write_Bps = 500e6;
  r.disk_read_Bps = 900e6;
  r.copy_kind = "netns";
  r.elapsed_s = 12;
  return r;
}
}  // namespace

TEST_CASE("a calibrated profile round-trips through JSON and validates", "[profile]") {
  calib_test::TempDir tmp;
  auto r = synthetic_result();
  auto fitted = ckptsim::calib::build_profile(r, "test-machine");
  const fs::path out = tmp.path() / "sub" / "test-machine.json";
  ckptsim::calib::write_profile(fitted, out);
  ckptsim::calib::write_csv(r, ckptsim::calib::csv_path_for(out));

  auto p = ckptsim::models::load_profile(out);
  CHECK(p.name == "test-machine");
  CHECK(p.source == "calibrate");
  CHECK(p.copy_s.coef.back() == Approx(1 / 117e6).epsilon(1e-3));
  CHECK(p.dump_s.powers == std::vector<int>{0, 1});
  CHECK(p.dump_s.coef[0] == Approx(0.05).margin(0.01));
  CHECK(p.job_compute_s(1500) == Approx(1e-9 * 1500.0 * 1500 * 1500 + 0.01).epsilon(1e-3));
  CHECK(p.link_bandwidth_Bps == Approx(125e6));
  CHECK(p.disk_write_Bps == Approx(500e6));
  CHECK(p.measurements.size() == r.rows.size());
  CHECK_FALSE(p.assumptions.empty());

  // Schema: what the file holds beyond what models reads.
  auto j = nlohmann::json::parse(calib_test::read_file(out));
  CHECK(j.at("schema") == "ckptsim-profile");
  CHECK(j.at("schema_version") == 1);
  for (const char* k : {"cpu", "kernel", "image_fs", "link"}) CHECK(j.at("machine").contains(k));
  for (const char* k : {"dump_s", "copy_s", "restore_s", "compute_s"}) {
    INFO(k);
    CHECK(j.at("fits").at(k).at("residuals").size() == j.at("fits").at(k).at("x").size());
    CHECK_FALSE(j.at("fits").at(k).at("why").get<std::string>().empty());
  }
  // Round trip: models' own serialisation of what it read is what we wrote.
  auto again = ckptsim::models::profile_from_json(ckptsim::models::to_json(p));
  CHECK(again.dump_s.coef == p.dump_s.coef);
  CHECK(again.compute_s.powers == p.compute_s.powers);

  // The CSV: a header and one line per row and compute run.
  auto csv = calib_test::read_file(ckptsim::calib::csv_path_for(out));
  size_t lines = std::count(csv.begin(), csv.end(), '\n');
  CHECK(lines == 1 + r.rows.size() + r.compute.size());

  // --show reads it back.
  auto shown = calib_test::run_ckptsim({"calibrate", "--show", out.string()}, tmp.path());
  CHECK(shown.status == 0);
  CHECK(shown.out.find("test-machine (calibrate)") == 0);
}

TEST_CASE("calibrated forked dumps give the profile's forked curves; without them it has none", "[profile]") {
  calib_test::TempDir tmp;
  auto r = synthetic_result();
  // Without forked rows (a calibration before they were measured): no section.
  CHECK_FALSE(ckptsim::calib::build_profile(r, "plain").profile.forked.known());
  CHECK_FALSE(ckptsim::models::to_json(ckptsim::calib::build_profile(r, "plain").profile).contains("forked"));
  // One forked dump per order: a stop of 2 ms + 1 ms per 100 MB, a write at 400 MB/s.
  for (int n = 2100; n <= 4800; n += 300) {
    ckptsim::calib::ForkedRow f;
    f.order = n;
    f.process_bytes = static_cast<uint64_t>(12.0 * n * n + 3e6);
    f.image_bytes = f.process_bytes + 2000000;
    f.stop_s = 0.002 + f.process_bytes / 100e9;
    f.write_s = 0.01 + f.image_bytes / 400e6;
    r.forked.push_back(f);
  }
  auto fitted = ckptsim::calib::build_profile(r, "forked");
  const fs::path out = tmp.path() / "forked.json";
  ckptsim::calib::write_profile(fitted, out);
  const auto p = ckptsim::models::load_profile(out);
  REQUIRE(p.forked.known());
  const double process = p.job_process_bytes(4100);
  CHECK(p.forked_stop_cost_s(process) == Approx(0.002 + process / 100e9).epsilon(1e-6));
  CHECK(p.forked_write_s(process + 2e6) == Approx(0.01 + (process + 2e6) / 400e6).epsilon(1e-6));
  auto j = nlohmann::json::parse(calib_test::read_file(out));
  CHECK(j.at("fits").at("forked").at("stop_s").at("x").size() == r.forked.size());
  CHECK(ckptsim::models::to_json(ckptsim::models::profile_from_json(ckptsim::models::to_json(p))) ==
        ckptsim::models::to_json(p));
  // A single order cannot be fitted: no curves, and a note says the model uses in-process dumps.
  r.forked.resize(1);
  auto one = ckptsim::calib::build_profile(r, "one");
  CHECK_FALSE(one.profile.forked.known());
  bool said = false;
  for (const auto& note : one.notes) said = said || note.find("in-process") != std::string::npos;
  CHECK(said);
}

TEST_CASE("calibrated forked incremental dumps give the profile's forked incremental costs", "[profile]") {
  calib_test::TempDir tmp;
  auto r = synthetic_result();
  // In-process and forked incremental dumps of the same jobs: what the job
  // changed, and what each mode cost. In-process: 0.1 s + 5 s/GB written;
  // forked: a stop of 3 ms + 2 ms per 100 MB of process, a write of 20 ms + 4 s/GB.
  for (int n : {2100, 3000, 3900})
    for (double since : {0.5, 1.0}) {
      ckptsim::calib::IncrementalRow i;
      i.order = n;
      i.process_bytes = static_cast<uint64_t>(12.0 * n * n + 3e6);
      i.written_bytes = static_cast<uint64_t>((8e9 / n + 1e5) * since);
      i.full_bytes = i.process_bytes;
      i.since_s = since;
      i.dump_s = i.stopped_s = 0.1 + 5e-9 * double(i.written_bytes);
      r.incremental.push_back(i);
      i.forked = true;
      i.stopped_s = 0.003 + double(i.process_bytes) / 50e9;
      i.dump_s = 0.02 + 4e-9 * double(i.written_bytes);
      r.forked_incremental.push_back(i);
    }
  auto fitted = ckptsim::calib::build_profile(r, "finc");
  const fs::path out = tmp.path() / "finc.json";
  ckptsim::calib::write_profile(fitted, out);
  const auto p = ckptsim::models::load_profile(out);
  REQUIRE(p.incremental.known());
  REQUIRE(p.incremental.forked.known());
  CHECK(p.incremental.forked.dumps == 6);
  const double process = 12.0 * 3000 * 3000 + 3e6, written = 3e6;
  CHECK(p.forked_incremental_stop_s(process, written) == Approx(0.003 + process / 50e9).epsilon(1e-6));
  CHECK(p.forked_incremental_write_s(process, written) == Approx(0.02 + 4e-9 * written).epsilon(1e-6));
  CHECK(p.incremental_dump_cost_s(process, written) == Approx(0.1 + 5e-9 * written).epsilon(1e-6));
  auto j = nlohmann::json::parse(calib_test::read_file(out));
  CHECK(j.at("fits").at("forked_incremental").size() == 6);
  bool said = false;
  for (const auto& note : fitted.notes) said = said || note.rfind("forked incremental: at ", 0) == 0;
  CHECK(said);

  // Two forked dumps are too few to fit: no forked costs, and a note says
  // the model's incremental dumps are in-process.
  r.forked_incremental.resize(2);
  auto two = ckptsim::calib::build_profile(r, "two");
  CHECK(two.profile.incremental.known());
  CHECK_FALSE(two.profile.incremental.forked.known());
  said = false;
  for (const auto& note : two.notes) said = said || note.find("incremental dumps are in-process") != std::string::npos;
  CHECK(said);
}

TEST_CASE("a profile that fails validation is refused with one line and exit 2", "[profile]") {
  calib_test::TempDir tmp;
  auto fitted = ckptsim::calib::build_profile(synthetic_result(), "broken");
  const fs::path out = tmp.path() / "broken.json";
  ckptsim::calib::write_profile(fitted, out);
  auto j = nlohmann::json::parse(calib_test::read_file(out));
  j["schema_version"] = 99;
  std::ofstream(out) << j.dump();
  auto r = calib_test::run_ckptsim({"calibrate", "--show", out.string()}, tmp.path());
  CHECK(r.status == 2);
  CHECK(r.err_lines() == 1);
  std::ofstream(out) << "{ not json";
  r = calib_test::run_ckptsim({"calibrate", "--show", out.string()}, tmp.path());
  CHECK(r.status == 2);
  CHECK(r.err_lines() == 1);
}

TEST_CASE("too few measurements give no profile rather than a wrong one", "[profile]") {
  auto r = synthetic_result();
  r.rows.resize(2);  // one size only
  CHECK_THROWS_WITH(ckptsim::calib::build_profile(r, "x"), Catch::Contains("too few"));
}

TEST_CASE("calibrate --from-table writes the paper's profile", "[profile]") {
  calib_test::TempDir tmp;
  const fs::path out = tmp.path() / "paper.json";
  auto r = calib_test::run_ckptsim({"calibrate", "--from-table",
                                    std::string(CKPTSIM_SOURCE_DIR) + "/../shared/paper/table1-cases-I-II.csv",
                                    "--out", out.string()},
                                   tmp.path());
  if (!fs::exists(std::string(CKPTSIM_SOURCE_DIR) + "/../shared/paper/table1-cases-I-II.csv")) {
    CHECK(r.status == 2);
    return;
  }
  REQUIRE(r.status == 0);
  auto p = ckptsim::models::load_profile(out);
  CHECK(p.source == "paper-table");
  CHECK(p.job_compute_s(4100) == Approx(1504.9).epsilon(0.05));
}
