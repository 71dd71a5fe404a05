// Incremental dump costs in the profile: the fit recovers known coefficients,
// never gives a cost that falls with more bytes, and the job's written bytes
// never exceed its image.
#include <catch2/catch.hpp>
#include <cmath>

#include "models/profile.h"

using namespace ckptsim::models;

namespace {

Curve curve(std::vector<int> powers, std::vector<double> coef) {
  Curve c;
  c.powers = std::move(powers);
  c.coef = std::move(coef);
  return c;
}

std::vector<IncrementalDump> synthetic(double fixed, double per_written, double per_process, double noise) {
  std::vector<IncrementalDump> out;
  int i = 0;
  for (double n : {2000.0, 2500.0, 3000.0})
    for (double since : {0.5, 1.0, 2.0}) {
      const double rate = 8e9 / n + 1e5;  // a + b/n
      const double process = 12.0 * n * n;
      const double written = rate * since;
      const double wiggle = noise * ((i++ % 3) - 1.0);
      out.push_back({n, process, written, since, fixed + per_written * written + per_process * process + wiggle});
    }
  return out;
}

}  // namespace

TEST_CASE("fit_incremental recovers the dirty rate and the three cost coefficients") {
  const Incremental inc = fit_incremental(synthetic(0.004, 5e-9, 1e-10, 0));
  CHECK(inc.dirty_Bps(2500) == Approx(8e9 / 2500 + 1e5).epsilon(1e-6));
  CHECK(inc.stop.fixed_s == Approx(0.004).epsilon(1e-6));
  CHECK(inc.stop.s_per_written_byte == Approx(5e-9).epsilon(1e-6));
  CHECK(inc.stop.s_per_process_byte == Approx(1e-10).epsilon(1e-6));
  CHECK(inc.stop.r2 == Approx(1));
}

TEST_CASE("fit_incremental keeps every coefficient non-negative on noisy points") {
  // Costs that fall with the process size: least squares would give a negative slope.
  std::vector<IncrementalDump> d = synthetic(0.05, 1e-9, 0, 0.0);
  for (auto& x : d) x.cost_s += 0.2 - x.process_bytes * 1e-9;
  const Incremental inc = fit_incremental(d);
  CHECK(inc.stop.fixed_s >= 0);
  CHECK(inc.stop.s_per_written_byte >= 0);
  CHECK(inc.stop.s_per_process_byte >= 0);
  CHECK(inc.stop.r2 >= 0);
  CHECK_THROWS_AS(fit_incremental({d[0], d[1]}), ProfileError);
}

TEST_CASE("an incremental dump writes what changed, at most the image, and costs less than a full one") {
  Profile p;
  p.process_bytes = curve({0, 2}, {0, 12});
  p.image_bytes = curve({0, 1}, {0, 1});
  p.dump_s = curve({0, 1}, {0.01, 2e-9});
  p.incremental = fit_incremental(synthetic(0.004, 5e-9, 1e-10, 0));
  const double n = 2500, image = p.job_image_bytes(n);
  CHECK(p.job_written_bytes(n, 1.0) == Approx(8e9 / n + 1e5));
  CHECK(p.job_written_bytes(n, 1e9) == Approx(image));
  CHECK(p.job_incremental_dump_s(n, 1.0) < p.job_dump_s(n));
  CHECK(p.job_incremental_dump_s(n, 2.0) > p.job_incremental_dump_s(n, 1.0));
}

TEST_CASE("a profile keeps its incremental costs through JSON, and refuses negative ones") {
  Profile p;
  p.name = "t";
  p.compute_s = p.process_bytes = p.image_bytes = p.dump_s = p.copy_s = p.restore_s = curve({0, 1}, {0.1, 1});
  p.incremental = fit_incremental(synthetic(0.004, 5e-9, 1e-10, 0));
  auto j = to_json(p);
  const Profile back = profile_from_json(j);
  CHECK(back.incremental.known());
  CHECK(back.incremental.dirty_Bps(2500) == Approx(p.incremental.dirty_Bps(2500)));
  CHECK(back.incremental.stop.s_per_written_byte == Approx(p.incremental.stop.s_per_written_byte));
  j["incremental"]["s_per_written_byte"] = -1;
  CHECK_THROWS_AS(profile_from_json(j), ProfileError);
  j.erase("incremental");
  CHECK(!profile_from_json(j).incremental.known());
}

TEST_CASE("a profile keeps its forked incremental costs through JSON; one without them still loads") {
  Profile p;
  p.name = "t";
  p.compute_s = p.process_bytes = p.image_bytes = p.dump_s = p.copy_s = p.restore_s = curve({0, 1}, {0.1, 1});
  p.process_bytes = curve({2}, {12.0});  // the job's matrices, 12 n^2 bytes
  p.image_bytes = curve({1}, {1.0});
  p.incremental = fit_incremental(synthetic(0.004, 5e-9, 1e-10, 0));
  CHECK(!p.incremental.forked.known());
  CHECK(!to_json(p)["incremental"].contains("forked"));
  // The stop of a forked dump hardly depends on what it writes; its write does.
  p.incremental.forked.stop = fit_incremental_cost(synthetic(0.003, 0, 2e-11, 0));
  p.incremental.forked.write = fit_incremental_cost(synthetic(0.02, 4e-9, 1e-10, 0));
  p.incremental.forked.dumps = 6;
  CHECK(p.incremental.forked.stop.fixed_s == Approx(0.003).epsilon(1e-6));
  CHECK(p.incremental.forked.write.s_per_written_byte == Approx(4e-9).epsilon(1e-6));
  auto j = to_json(p);
  const Profile back = profile_from_json(j);
  REQUIRE(back.incremental.forked.known());
  CHECK(back.incremental.forked.dumps == 6);
  const double n = 2500;
  CHECK(back.job_forked_incremental_stop_s(n, 1.0) == Approx(p.job_forked_incremental_stop_s(n, 1.0)));
  CHECK(back.job_forked_incremental_write_s(n, 1.0) == Approx(p.job_forked_incremental_write_s(n, 1.0)));
  CHECK(back.job_forked_incremental_write_s(n, 2.0) > back.job_forked_incremental_write_s(n, 1.0));
  // The in-process keys stay where every older profile has them.
  CHECK(j["incremental"].contains("fixed_s"));

  j["incremental"]["forked"]["write"]["fixed_s"] = -1;
  CHECK_THROWS_WITH(profile_from_json(j), Catch::Contains("incremental.forked.write.fixed_s"));
  j["incremental"]["forked"]["write"]["fixed_s"] = 0.02;
  j["incremental"]["forked"]["dumps"] = 0;
  CHECK_THROWS_WITH(profile_from_json(j), Catch::Contains("incremental.forked.dumps"));
  j["incremental"].erase("forked");
  const Profile old = profile_from_json(j);
  CHECK(old.incremental.known());
  CHECK(!old.incremental.forked.known());
}
