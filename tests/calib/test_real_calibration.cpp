// A small real calibration: the real job under the real library, checkpointed,
// copied through the netns gigabit link (or loopback without the rights),
// restored, and fitted. Orders 200:600:200, one repetition.
#include <catch2/catch.hpp>

#include "models/profile.h"
#include "test_helpers.h"

namespace fs = std::filesystem;

TEST_CASE("a small real calibration yields positive, size-increasing costs", "[real]") {
  calib_test::TempDir tmp;
  const fs::path out = tmp.path() / "small.json";
  const fs::path png = tmp.path() / "small.png";
  auto r = calib_test::run_ckptsim({"calibrate", "--sizes", "200:600:200", "--reps", "1", "--compute-sizes",
                                    "100,200,300,400", "--no-disk-probe", "--work-dir", tmp.path().string(),
                                    "--out", out.string(), "--plot", png.string()},
                                   tmp.path());
  INFO("stderr: " << r.err);
  REQUIRE(r.status == 0);
  auto p = ckptsim::models::load_profile(out);
  auto j = nlohmann::json::parse(calib_test::read_file(out));
  const std::string link = j.at("machine").at("link").at("kind");
  CHECK((link == "netns" || link == "loopback"));
  REQUIRE(p.measurements.size() == 3);
  uint64_t last_image = 0;
  int last_order = 0, verified = 0;
  for (const auto& row : p.measurements) {
    INFO(row.dump());
    CHECK(row.at("order").get<int>() > last_order);
    CHECK(row.at("image_bytes").get<uint64_t>() > last_image);
    CHECK(row.at("dump_s").get<double>() > 0);
    CHECK(row.at("copy_s").get<double>() > 0);
    CHECK(row.at("restore_s").get<double>() > 0);
    CHECK(row.at("progressing").get<bool>());
    CHECK(row.at("rss_bytes").get<uint64_t>() >= 12ull * row.at("order").get<uint64_t>() * row.at("order").get<uint64_t>());
    verified += row.at("output_verified").get<bool>();
    last_order = row.at("order");
    last_image = row.at("image_bytes");
  }
  CHECK(verified == 1);  // the smallest order ran to the end and matched
  CHECK(p.job_copy_s(600) > p.job_copy_s(200));
  // One forked dump per order (run's default): the profile carries their
  // curves, and each dump's write (signal -> image complete) includes its stop.
  CHECK(p.forked.known());
  const auto& forked = j.at("fits").at("forked");
  const auto stops = forked.at("stop_s").at("y").get<std::vector<double>>();
  const auto writes = forked.at("write_s").at("y").get<std::vector<double>>();
  REQUIRE(stops.size() == 3);
  REQUIRE(writes.size() == 3);
  for (size_t i = 0; i < stops.size(); ++i) {
    CHECK(stops[i] > 0);
    CHECK(writes[i] >= stops[i]);
  }
  CHECK(fs::file_size(png) > 1000);
  CHECK(fs::exists(tmp.path() / "small.csv"));
  // Nothing left behind: the scratch directory is gone, and no namespace of ours.
  int scratch = 0;
  for (auto& e : fs::directory_iterator(tmp.path()))
    scratch += e.path().filename().string().rfind("calib-", 0) == 0;
  CHECK(scratch == 0);
}

TEST_CASE("calibrate --threads 2 measures a two-thread job and records the count", "[real]") {
  calib_test::TempDir tmp;
  const fs::path out = tmp.path() / "threads.json";
  auto r = calib_test::run_ckptsim({"calibrate", "--sizes", "300,500", "--reps", "1", "--compute-sizes", "100,200,300",
                                    "--no-disk-probe", "--threads", "2", "--work-dir", tmp.path().string(), "--out",
                                    out.string()},
                                   tmp.path());
  INFO("stderr: " << r.err);
  REQUIRE(r.status == 0);
  auto j = nlohmann::json::parse(calib_test::read_file(out));
  CHECK(j.at("machine").at("job_threads") == 2);
  int verified = 0;
  for (const auto& row : j.at("measurements")) {
    INFO(row.dump());
    CHECK(row.at("dump_s").get<double>() > 0);
    CHECK(row.at("restore_s").get<double>() > 0);
    CHECK(row.at("progressing").get<bool>());
    verified += row.at("output_verified").get<bool>();
  }
  CHECK(verified == 1);  // the restored two-thread job ran to the end with the right bytes
}

