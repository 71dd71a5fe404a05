// calibrate --shared-dir: a directory measured as the nodes' shared file
// system, written into the profile, read back, and used by the simulator as
// `--shared-storage measured`. Here the directory is a local one (no NFS in
// CI): the figures are this disk's, the plumbing is the real one.
#include <catch2/catch.hpp>
#include <fstream>

#include "calib/fit.h"
#include "calib/report.h"
#include "calib/shared_storage.h"
#include "models/profile.h"
#include "test_helpers.h"

namespace fs = std::filesystem;
using namespace ckptsim;

namespace {

// A copy of the bundled paper profile (what `make demo` simulates with).
fs::path paper_profile(const fs::path& dir) {
  const fs::path out = dir / "p.json";
  fs::copy_file(fs::path(CKPTSIM_SOURCE_DIR) / "data/profiles/paper-p4.json", out);
  return out;
}

}  // namespace

TEST_CASE("shared dir: measured with several writers, one writer alone, nothing left in the directory") {
  calib_test::TempDir tmp;
  fs::create_directories(tmp / "shared");
  const models::SharedStorage s = calib::measure_shared_storage(calib::SharedProbe{tmp / "shared", 32ull << 20, 4});
  CHECK(s.write_Bps > 0);
  CHECK(s.read_Bps > 0);
  CHECK(s.client_write_Bps > 0);
  CHECK(s.writers == 4);
  CHECK(!s.fs.empty());
  CHECK(fs::is_empty(tmp / "shared"));
}

TEST_CASE("shared dir: --add-to puts it in the profile, which round-trips and keeps the rest") {
  calib_test::TempDir tmp;
  fs::create_directories(tmp / "shared");
  const fs::path profile = paper_profile(tmp.path());
  const models::Profile before = models::load_profile(profile);
  CHECK(!before.shared_storage.known());
  auto r = calib_test::run_ckptsim({"calibrate", "--shared-dir", (tmp / "shared").string(), "--shared-writers", "2",
                                    "--add-to", profile.string()},
                                   tmp.path());
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("wrote " + profile.string()) != std::string::npos);
  const models::Profile after = models::load_profile(profile);
  CHECK(after.shared_storage.known());
  CHECK(after.shared_storage.writers == 2);
  CHECK(after.compute_s.coef == before.compute_s.coef);
  // The simulator takes it as the shared file system.
  auto sim = calib_test::run_ckptsim({"simulate", "--profile", profile.string(), "--sizes", "2100", "--replications", "1",
                                      "--shared-storage", "measured", "--format", "json"},
                                     tmp.path());
  INFO(sim.err);
  CHECK(sim.status == 0);
  CHECK(sim.out.find("\"shared_storage\"") != std::string::npos);
}

TEST_CASE("shared dir: bad input is one line and exit 2, the profile untouched") {
  calib_test::TempDir tmp;
  const fs::path profile = paper_profile(tmp.path());
  const std::string before = calib_test::read_file(profile);
  auto missing = calib_test::run_ckptsim({"calibrate", "--shared-dir", (tmp / "nope").string(), "--add-to", profile.string()},
                                         tmp.path());
  CHECK(missing.status == 2);
  CHECK(missing.err_lines() == 1);
  CHECK(missing.err.find("is not an existing directory") != std::string::npos);
  auto alone = calib_test::run_ckptsim({"calibrate", "--add-to", profile.string()}, tmp.path());
  CHECK(alone.status != 0);
  CHECK(alone.err.find("--shared-dir") != std::string::npos);
  auto unmeasured = calib_test::run_ckptsim({"simulate", "--profile", profile.string(), "--sizes", "2100",
                                             "--shared-storage", "measured"},
                                            tmp.path());
  CHECK(unmeasured.status == 2);
  CHECK(unmeasured.err_lines() == 1);
  CHECK(unmeasured.err.find("no shared file system measured") != std::string::npos);
  CHECK(calib_test::read_file(profile) == before);
}
