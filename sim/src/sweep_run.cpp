// Running sweep points in the simulator's worker pool (forked_workers.h): one
// point per child process, each simulated right there in its own engine.
#include <chrono>
#include <string>
#include <vector>

#include "forked_workers.h"
#include "run_cell.h"
#include "sim/sweep.h"

namespace ckptsim::sim {

namespace {

std::string describe(const SweepPoint& p) {
  std::string s = "order " + std::to_string(p.order);
  if (p.kind != PointKind::Baseline) s += ", interval " + std::to_string(p.interval_s) + " s";
  return s;
}

PointResult point_result(const SweepPoint& p, const ForkedReply& reply) {
  if (!reply.sent)
    throw SweepWorkerError("the worker for " + describe(p) + " " + describe_wait_status(reply.wait_status) +
                           " without a result" + (reply.stderr_tail.empty() ? "" : ": " + reply.stderr_tail));
  if (!reply.ok) throw SweepError(describe(p) + ": " + reply.error);
  try {
    return {p.index, reply.value.at("mean_turnaround_s").get<double>(), reply.value.at("ci95_s").get<double>()};
  } catch (const nlohmann::json::exception&) {
    throw SweepWorkerError("the worker for " + describe(p) + " sent a garbled result");
  }
}

}  // namespace

RunOutcome run_points(const SweepOptions& opts, const SweepPlan& plan, const std::vector<int>& indices,
                      const RunControl& control, const Evaluator& eval) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const Evaluator& evaluate = eval ? eval : simulate_in_this_process;
  RunOutcome out;
  ForkedTasks t;
  for (int i : indices) t.tasks.push_back(static_cast<std::size_t>(i));
  t.workers = control.workers;
  t.work = [&](std::size_t i) {
    const CellResult r = evaluate(scenario_for(opts, plan.points.at(i)));
    return nlohmann::json{{"mean_turnaround_s", r.mean_turnaround_s}, {"ci95_s", r.ci95_s}};
  };
  // A point's SimGrid output is kept, not mixed into the progress line; its
  // last line explains a crash.
  t.capture_stderr = [&](std::size_t i) { return scenario_for(opts, plan.points.at(i)).log.empty(); };
  t.done = [&](std::size_t i, const ForkedReply& reply) {
    const SweepPoint& p = plan.points.at(i);
    out.results[p.index] = point_result(p, reply);
  };
  t.stop = [&] { return control.stop && control.stop(); };
  t.tick = [&] {
    if (control.on_progress)
      control.on_progress(out.results.size(), indices.size(),
                          std::chrono::duration<double>(clock::now() - start).count());
  };
  bool completed = false;
  try {
    completed = run_forked(t);
  } catch (const SimError& e) {  // a pipe, fork or poll that failed: not the user's input
    throw SweepWorkerError(e.what());
  }
  out.interrupted = !completed && out.results.size() < indices.size();
  return out;
}

}  // namespace ckptsim::sim
