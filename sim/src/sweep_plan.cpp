// The sweep's plan: every point to simulate, the theory beside each order, and
// the hash that tells shards of one sweep from those of another.
#include <cinttypes>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "sim/analytic.h"
#include "sim/sweep.h"
#include "util/hex.h"

namespace ckptsim::sim {

namespace {

std::string file_xxh3(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SweepError("cannot read platform file " + path.string());
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return util::xxh3_hex(bytes);
}

void validate_options(const SweepOptions& o) {
  const auto& b = o.base;
  if (o.orders.empty()) throw SweepError("no matrix orders to sweep");
  for (int n : o.orders)
    if (n <= 0) throw SweepError("matrix orders must be > 0");
  if (b.c != Case::IV && b.c != Case::V)
    throw SweepError("the sweep needs a case with checkpoints and failures: IV or V, not " + to_string(b.c));
  if (b.nodes < 1) throw SweepError("--nodes must be >= 1");
  if (b.jobs_per_node < 1) throw SweepError("--jobs-per-node must be >= 1");
  if (b.replications < 1) throw SweepError("--replications must be >= 1");
  const auto& f = b.failures;
  if (f.kind == FailureModel::Kind::PerJob) {
    if (!(f.p > 0 && f.p < 1))
      throw SweepError("--failure-rate must be in (0, 1) for a sweep (without failures there is nothing to trade off)");
  } else {
    if (!(f.mtbf_s > 0) || !std::isfinite(f.mtbf_s)) throw SweepError("--mtbf must be a finite number > 0");
    if (!(f.weibull_shape >= kMinWeibullShape && f.weibull_shape <= kMaxWeibullShape))
      throw SweepError(std::string("--weibull-shape must be within ") + kWeibullShapeRange);
  }
}

OrderTheory theory_for(const SweepOptions& o, int order) {
  namespace an = analytic;
  const auto& prof = o.base.profile;
  const auto& f = o.base.failures;
  OrderTheory t;
  t.order = order;
  t.W = prof.job_compute_s(order);
  // On shared storage, what a dump and a restore cost with the file system to
  // themselves: the formulas know no contention (the simulator does).
  // Forked, C is the fork's stop: no I/O while the job waits.
  Scenario at_order = o.base;
  at_order.order = order;
  const bool forked = dumps_forked(at_order);
  t.C = forked ? full_dump_stop_s(at_order) : uncontended_image_io_s(o.base, prof.job_dump_s(order), true);
  // Case V pays the copy before its restore, in every placement: the formulas
  // are one job's, with no queue (a queue or spare placement's wait for a free
  // node, and share's time-sharing, are the simulator's to show). Shared
  // storage copies nothing.
  const bool copies = o.base.c == Case::V && !o.base.storage.shared;
  t.R = uncontended_image_io_s(o.base, prof.job_restore_s(order), false) + (copies ? prof.job_copy_s(order) : 0.0);
  const std::string at = "order " + std::to_string(order) + ": ";
  if (!(t.W > 0) || !std::isfinite(t.W)) throw SweepError(at + "the profile's compute time is not > 0");
  if (!(t.C > 0) || !std::isfinite(t.C))
    throw SweepError(at + "the profile's dump cost is not > 0, so there is no interval to trade off");
  if (!(t.R >= 0) || !std::isfinite(t.R)) throw SweepError(at + "the profile's restore cost is negative");
  if (f.kind == FailureModel::Kind::PerJob) {
    // The paper's kill probability over one failure-free run, as an exponential rate.
    t.M = 1 / an::rate_from_kill_probability(f.p, t.W);
    t.D = 0;
  } else {
    t.M = f.mtbf_s;
    t.D = prof.reboot_s;
  }
  // A scheduler's requeue delay is downtime after every failure, as a reboot is.
  t.D += requeue_delay_s(o.base);
  if (o.base.incremental) {
    // A chain's mean cost depends on the interval (an incremental dump writes
    // what changed in it): the fixed point of τ = Daly(C(τ)), from the full cost.
    for (int i = 0; i < 20; ++i) {
      const double mean = mean_checkpoint_cost_s(at_order, an::daly_interval(t.C, t.M));
      const double C = forked ? mean : uncontended_image_io_s(at_order, mean, true);
      if (std::fabs(C - t.C) <= 1e-9 * t.C) break;
      t.C = C;
    }
  }
  t.young_s = an::young_interval(t.C, t.M);
  t.daly_s = an::daly_interval(t.C, t.M);
  if (f.kind == FailureModel::Kind::PerJob) {
    t.formula = "single-kill";
    t.optimum_s = an::single_kill_interval(t.W, t.C, f.p);
    t.optimum_expected_s = an::single_kill_expected_time({t.W, t.C, t.R, t.D}, f.p, t.optimum_s);
  } else {
    t.formula = "expected-time";
    t.optimum_s = an::optimal_interval(t.C, 1 / t.M);
    t.optimum_expected_s = an::expected_time({t.W, t.C, t.R, t.D}, 1 / t.M, t.optimum_s);
  }
  return t;
}

nlohmann::json theory_to_json(const OrderTheory& t) {
  return {{"order", t.order}, {"W", t.W}, {"C", t.C}, {"R", t.R}, {"D", t.D}, {"M", t.M},
          {"young_s", t.young_s}, {"daly_s", t.daly_s}, {"formula", t.formula}, {"optimum_s", t.optimum_s},
          {"optimum_expected_s", t.optimum_expected_s}};
}

OrderTheory theory_from_json(const nlohmann::json& j) {
  OrderTheory t;
  t.order = j.at("order").get<int>();
  t.W = j.at("W").get<double>();
  t.C = j.at("C").get<double>();
  t.R = j.at("R").get<double>();
  t.D = j.at("D").get<double>();
  t.M = j.at("M").get<double>();
  t.young_s = j.at("young_s").get<double>();
  t.daly_s = j.at("daly_s").get<double>();
  t.formula = j.at("formula").get<std::string>();
  t.optimum_s = j.at("optimum_s").get<double>();
  t.optimum_expected_s = j.at("optimum_expected_s").get<double>();
  return t;
}

PointKind kind_from_string(const std::string& s) {
  for (auto k : {PointKind::Baseline, PointKind::Grid, PointKind::Young, PointKind::Daly, PointKind::Single})
    if (to_string(k) == s) return k;
  throw SweepError("unknown point kind '" + s + "'");
}

}  // namespace

namespace {

SweepPlan build_plan(const SweepOptions& o) {
  SweepPlan plan;
  const auto& b = o.base;
  nlohmann::json failures;
  if (b.failures.kind == FailureModel::Kind::PerJob)
    failures = {{"model", "per-job"}, {"p", b.failures.p}};
  else
    failures = {{"model", "node"}, {"mtbf_s", b.failures.mtbf_s}, {"weibull_shape", b.failures.weibull_shape}};
  nlohmann::json grid = o.grid.automatic ? nlohmann::json("auto") : nlohmann::json(o.grid.values);
  plan.options = {
      {"tool", "ckptsim sweep"},
      {"version", 2},
      {"profile_xxh3", util::xxh3_hex(models::to_json(b.profile).dump())},
      {"platform_xxh3", b.platform_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(file_xxh3(b.platform_file))},
      {"nodes", b.nodes},
      {"jobs_per_node", b.jobs_per_node},
      {"case", to_string(b.c)},
      {"failures", failures},
      {"replications", b.replications},
      {"seed", b.seed},
      {"orders", o.orders},
      {"intervals", grid},
      {"single_checkpoint_at", b.checkpoint_at},
  };
  // Case V's placement shapes its results; case IV's hash stays as it was.
  if (b.c == Case::V) {
    plan.options["v_placement"] = to_string(b.v_placement);
    plan.options["spares"] = b.spares;
  }
  // Likewise incremental checkpoints: full-dump sweeps keep their hashes.
  if (b.incremental) plan.options["incremental_max_chain"] = b.max_chain;
  // And forked dumps: sweeps of profiles without their costs keep theirs.
  if (b.dump_mode == DumpMode::Forked) plan.options["dump_mode"] = to_string(b.dump_mode);
  // And shared storage: sweeps of local disks keep theirs.
  if (b.storage.shared)
    plan.options["shared_storage"] = {{"total_Bps", b.storage.total_Bps}, {"client_Bps", b.storage.client_Bps}};
  // And a requeue delay given as an option that differs from the profile's
  // (the profile's own is in its hash): sweeps without one keep theirs.
  const double profile_delay = b.profile.scheduler.requeue_delay_s.value_or(0.0);
  if (b.requeue_delay_s && *b.requeue_delay_s != profile_delay) plan.options["requeue_delay_s"] = *b.requeue_delay_s;
  plan.hash = util::xxh3_hex(plan.options.dump());
  // Shown, not hashed: the same profile read from another path is the same sweep.
  plan.options["profile_label"] = o.profile_label;
  // Shown: the dump mode and why (an old profile's sweep says it models in-process dumps).
  plan.options["dumps"] = describe_dump_mode(b);
  // Shown: the delay the points run with, wherever it came from.
  if (requeue_delay_s(b) > 0) plan.options["requeue_delay_s"] = requeue_delay_s(b);

  int index = 0;
  for (int order : o.orders) {
    const OrderTheory t = theory_for(o, order);
    plan.theory.push_back(t);
    plan.points.push_back({index++, order, PointKind::Baseline, 0});
    const auto intervals = o.grid.automatic ? auto_intervals(t.optimum_s) : o.grid.values;
    for (double tau : intervals) plan.points.push_back({index++, order, PointKind::Grid, tau});
    plan.points.push_back({index++, order, PointKind::Young, t.young_s});
    plan.points.push_back({index++, order, PointKind::Daly, t.daly_s});
    // One checkpoint per job under exponential failures much more frequent
    // than its halves would restart each half ~e^(half/MTBF) times: past
    // e^5 (150x) that point only burns time, and its order cannot be ideal.
    const double at = o.base.checkpoint_at;
    const double longest_half = t.W * std::max(at, 1 - at);
    if (t.formula != "expected-time" || t.M <= 0 || longest_half / t.M <= 5)
      plan.points.push_back({index++, order, PointKind::Single, 0});
  }
  return plan;
}

std::vector<Scenario> plan_cells(const SweepOptions& o, const SweepPlan& plan) {
  std::vector<Scenario> cells;
  for (const auto& p : plan.points) cells.push_back(scenario_for(o, p));
  return cells;
}

}  // namespace

SweepPlan make_plan(const SweepOptions& o) {
  validate_options(o);
  SweepPlan plan = build_plan(o);
  // Every point must be a scenario the simulator accepts, and all of them
  // together within its event budget: refused here, before any worker starts.
  const std::vector<Scenario> cells = plan_cells(o, plan);
  try {
    for (const auto& c : cells) validate(c);
    // Young's, Daly's and the auto grid's intervals follow the MTBF.
    check_event_budget(cells, [&o](double mtbf) {
      SweepOptions t = o;
      t.base.failures.mtbf_s = mtbf;
      return plan_cells(t, build_plan(t));
    });
  } catch (const SimError& e) {
    throw SweepError(e.what());
  }
  return plan;
}

Scenario scenario_for(const SweepOptions& o, const SweepPoint& p) {
  Scenario s = o.base;
  s.order = p.order;
  if (p.kind == PointKind::Baseline) {
    s.c = Case::I;
    s.interval_s = 0;
  } else {
    s.interval_s = p.kind == PointKind::Single ? 0 : p.interval_s;  // 0: one checkpoint at checkpoint_at
  }
  return s;
}

std::vector<int> shard_indices(const SweepPlan& plan, const ShardSpec& shard) {
  std::vector<int> v;
  for (const auto& p : plan.points)
    if (p.index % shard.n == shard.k - 1) v.push_back(p.index);
  return v;
}

nlohmann::json to_json(const SweepPlan& plan) {
  nlohmann::json theory = nlohmann::json::array(), points = nlohmann::json::array();
  for (const auto& t : plan.theory) theory.push_back(theory_to_json(t));
  for (const auto& p : plan.points)
    points.push_back({{"index", p.index}, {"order", p.order}, {"kind", to_string(p.kind)}, {"interval_s", p.interval_s}});
  return {{"options", plan.options}, {"hash", plan.hash}, {"theory", theory}, {"points", points}};
}

SweepPlan plan_from_json(const nlohmann::json& j) {
  try {
    SweepPlan plan;
    plan.options = j.at("options");
    plan.hash = j.at("hash").get<std::string>();
    for (const auto& t : j.at("theory")) plan.theory.push_back(theory_from_json(t));
    int expected = 0;
    for (const auto& p : j.at("points")) {
      SweepPoint sp{p.at("index").get<int>(), p.at("order").get<int>(), kind_from_string(p.at("kind").get<std::string>()),
                    p.at("interval_s").get<double>()};
      if (sp.index != expected++) throw SweepError("points out of order");
      plan.points.push_back(sp);
    }
    return plan;
  } catch (const nlohmann::json::exception& e) {
    throw SweepError(std::string("malformed sweep plan: ") + e.what());
  }
}

}  // namespace ckptsim::sim
