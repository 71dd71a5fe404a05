// Real against simulated: the table, CSV, JSON and the figure.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "experiment/experiment.h"
#include "util/scratch_dir.h"
#include "util/subprocess.h"

namespace fs = std::filesystem;

namespace ckptsim::experiment {
namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string title(const Result& r) {
  const auto& p = r.parameters;
  if (p.is_null()) return "Real runs against the simulator";
  std::ostringstream t;
  if (p.contains("slurm")) {
    t << "Real runs on Slurm (partition " << p["slurm"].value("partition", std::string("?")) << ") against the simulator: "
      << p.value("nodes", 0) << " node(s)";
  } else {
    t << "Real runs on this machine against the simulator: " << p.value("nodes", 0) << " slot(s)";
  }
  if (p.value("spares", 0) > 0) t << " + " << p.value("spares", 0) << " spare(s)";
  t << " x " << p.value("jobs_per_node", 0) << " jobs, failure rate "
    << fixed(100 * p.value("failure_rate", 0.0), 0) << " %, checkpoint at " << fixed(100 * p.value("checkpoint_at", 0.0), 0)
    << " %, " << p.value("replications", 0) << " replication(s), seed " << p.value("seed", uint64_t(0))
    << ", case V placement " << p.value("v_placement", std::string("?"));
  return t.str();
}

}  // namespace

std::string format_table(const Result& r) {
  std::ostringstream out;
  out << title(r) << "\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%6s  %-5s %12s %9s %12s %9s %9s  %13s  %13s\n", "order", "case", "real mean s",
                "+-95%", "sim mean s", "+-95%", "error %", "kills real/sim", "moves real/sim");
  out << line;
  for (const Row& row : r.rows) {
    std::snprintf(line, sizeof line, "%6d  %-5s %12.3f %9.3f %12.3f %9.3f %+9.1f  %6ld/%-6ld  %6ld/%-6ld\n", row.order,
                  sim::to_string(row.c).c_str(), row.real_mean_s, row.real_ci95_s, row.sim_mean_s, row.sim_ci95_s,
                  row.rel_error_pct, row.real_kills, row.sim_kills, row.real_migrations, row.sim_migrations);
    out << line;
  }
  if (r.rows.empty()) out << "(no case finished all its replications)\n";
  out << "\nerror % = (simulated - real) / real; real and simulated runs face the same drawn failures (same seed)\n";
  if (r.scheduler) {
    const SchedulerCosts& c = *r.scheduler;
    if (c.requeues == 0) {
      out << "scheduler: no job was requeued (no doomed job was still running at its drawn time)\n";
    } else {
      std::snprintf(line, sizeof line,
                    "scheduler: %ld requeue(s); node down -> job running again %.2f +- %.2f s; queue wait after the "
                    "requeue %.2f +- %.2f s\n",
                    c.requeues, c.down_to_running_mean_s, c.down_to_running_ci95_s, c.queue_wait_mean_s,
                    c.queue_wait_ci95_s);
      out << line;
      std::string per_case;
      for (const auto& [c, wait] : r.scheduler->queue_wait_mean_by_case_s)
        per_case += (per_case.empty() ? "" : ", ") + sim::to_string(c) + " " + fixed(wait, 2) + " s";
      out << "scheduler: queue wait per case (each case's simulated requeue delay): " << per_case << "\n";
    }
  }
  if (r.interrupted) out << "interrupted: only the cases that finished every replication are shown\n";
  return out.str();
}

std::string format_csv(const Result& r) {
  std::ostringstream out;
  out << "order,case,real_mean_s,real_ci95_s,sim_mean_s,sim_ci95_s,rel_error_pct\n";
  for (const Row& row : r.rows)
    out << row.order << ',' << sim::to_string(row.c) << ',' << fixed(row.real_mean_s, 4) << ','
        << fixed(row.real_ci95_s, 4) << ',' << fixed(row.sim_mean_s, 4) << ',' << fixed(row.sim_ci95_s, 4) << ','
        << fixed(row.rel_error_pct, 2) << '\n';
  return out.str();
}

nlohmann::json to_json(const Result& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const Row& row : r.rows)
    rows.push_back({{"order", row.order},
                    {"case", sim::to_string(row.c)},
                    {"real_mean_s", row.real_mean_s},
                    {"real_ci95_s", row.real_ci95_s},
                    {"real_replication_means_s", row.real_replication_means},
                    {"sim_mean_s", row.sim_mean_s},
                    {"sim_ci95_s", row.sim_ci95_s},
                    {"rel_error_pct", row.rel_error_pct},
                    {"real_kills", row.real_kills},
                    {"sim_kills", row.sim_kills},
                    {"real_migrations", row.real_migrations},
                    {"sim_migrations", row.sim_migrations}});
  nlohmann::json j = {{"parameters", r.parameters},
          {"profile", r.profile_used.string()},
          {"rows", rows},
          {"warnings", r.warnings},
          {"interrupted", r.interrupted},
          {"elapsed_s", r.elapsed_s}};
  if (r.scheduler)
    j["scheduler"] = {{"requeues", r.scheduler->requeues},
                      {"down_to_running_mean_s", r.scheduler->down_to_running_mean_s},
                      {"down_to_running_ci95_s", r.scheduler->down_to_running_ci95_s},
                      {"queue_wait_mean_s", r.scheduler->queue_wait_mean_s},
                      {"queue_wait_ci95_s", r.scheduler->queue_wait_ci95_s}};
  if (r.scheduler)
    for (const auto& [c, wait] : r.scheduler->queue_wait_mean_by_case_s)
      j["scheduler"]["queue_wait_mean_by_case_s"][sim::to_string(c)] = wait;
  return j;
}

void plot(const Result& r, const fs::path& out) {
  const std::string ext = out.extension().string();
  if (ext != ".png" && ext != ".svg") throw ExperimentError("--plot must end in .png or .svg");
  const util::ScratchDir scratch = util::ScratchDir::create("/tmp/ckptsim-experiment-plot-XXXXXX");
  if (!scratch) throw ExperimentError("cannot create a directory for the plot");
  const fs::path& dir = scratch.path();
  std::vector<std::string> cases;
  for (const Row& row : r.rows) {
    const std::string c = sim::to_string(row.c);
    bool seen = false;
    for (const auto& x : cases) seen = seen || x == c;
    if (!seen) cases.push_back(c);
  }
  {
    // One data block per case: order, real mean, real CI, sim mean, sim CI.
    std::ofstream data(dir / "data");
    for (const auto& c : cases) {
      data << "# case " << c << "\n";
      for (const Row& row : r.rows)
        if (sim::to_string(row.c) == c)
          data << row.order << ' ' << row.real_mean_s << ' ' << row.real_ci95_s << ' ' << row.sim_mean_s << ' '
               << row.sim_ci95_s << '\n';
      data << "\n\n";
    }
    std::ofstream gp(dir / "plot.gp");
    gp << (ext == ".png" ? "set terminal pngcairo size 1000,650 font ',10'\n" : "set terminal svg size 1000,650\n");
    gp << "set output '" << out.string() << "'\n";
    // Two lines (the title is long): break after "simulator:".
    std::string t = title(r);
    for (auto& ch : t)
      if (ch == '"' || ch == '\\') ch = ' ';
    if (const auto colon = t.find(": "); colon != std::string::npos) t.replace(colon, 2, ":\\n");
    gp << "set title \"" << t << "\" noenhanced\n"
       << "set yrange [0:*]\n"
       << "set xlabel 'matrix order'\nset ylabel 'mean job turnaround (s)'\nset key top left\nset grid\n"
       << "set offsets graph 0.05, graph 0.05, graph 0.05, 0\n";
    gp << "plot ";
    for (size_t i = 0; i < cases.size(); ++i) {
      const std::string color = std::to_string(i + 1);
      gp << (i ? ", \\\n     " : "") << "'" << (dir / "data").string() << "' index " << i
         << " using 1:4 with lines lw 2 lc " << color << " title 'simulated " << cases[i] << "', '"
         << (dir / "data").string() << "' index " << i << " using 1:2:3 with yerrorbars pt 7 lc " << color
         << " title 'real " << cases[i] << "'";
    }
    gp << "\n";
  }
  // No shell: a quote in a path cannot break the command.
  const util::CommandResult res = util::run_command({"gnuplot", (dir / "plot.gp").string()});
  const std::string err = res.output.substr(0, res.output.find('\n'));
  if (res.status != 0) throw ExperimentError("plot " + out.string() + ": gnuplot failed" + (err.empty() ? "" : ": " + err));
}

}  // namespace ckptsim::experiment
