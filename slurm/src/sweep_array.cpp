// A sweep as a Slurm job array plus a merge job, and following them.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "calib/subprocess.h"
#include "slurm/sweep_array.h"

namespace fs = std::filesystem;

namespace ckptsim::slurm {

namespace {

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += " " + quote(a);
  return s;
}

using Argv = std::vector<std::string>;

// A word as a shell reads it back: quoted only where it needs to be.
std::string shell_word(const std::string& s) {
  const bool plain = !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                        "0123456789_-+=,.:/@") == std::string::npos;
  return plain ? s : quote(s);
}
std::string shell_line(const Argv& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + shell_word(a);
  return s;
}

// Runs a Slurm tool (no shell); its output, or throws with what it said.
std::string capture(const Argv& argv) {
  calib::CommandResult r;
  try {
    r = calib::run_command(argv);
  } catch (const std::runtime_error& e) {
    throw SlurmError(std::string("cannot run ") + argv[0] + ": " + e.what());
  }
  std::string out = std::move(r.output);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  // One line: what the tool said first (sbatch, for one, repeats itself).
  if (r.status != 0) throw SlurmError(argv[0] + " failed: " + out.substr(0, out.find('\n')));
  return out;
}

std::string job_field(const std::string& id, const std::string& key) {
  std::string info;
  try {
    info = capture({"scontrol", "-o", "show", "job", id});
  } catch (const SlurmError&) {
    return "";
  }
  const size_t at = info.find(" " + key + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + key.size() + 2;
  return info.substr(start, info.find(' ', start) - start);
}

// Before anything is written or submitted: a controller answers, and the
// partition asked for exists. One line each, saying what was tried.
void check_cluster(const std::string& partition) {
  // Slurm's tools retry a missing SLURM_CONF for a minute: say it at once.
  if (const char* conf = std::getenv("SLURM_CONF"); conf && *conf && !fs::exists(conf))
    throw SlurmError(std::string("no Slurm configuration at SLURM_CONF=") + conf);
  try {
    capture({"scontrol", "ping"});
  } catch (const SlurmError& e) {
    std::string said = e.what();
    said = said.substr(0, said.find('\n'));
    const char* conf = std::getenv("SLURM_CONF");
    throw SlurmError(std::string("no Slurm controller answers (tried `scontrol ping` with ") +
                     (conf ? "SLURM_CONF=" + std::string(conf) : "the default slurm.conf") + "): " + said);
  }
  if (partition.empty()) return;
  std::string names;
  try {
    names = capture({"sinfo", "-h", "-o", "%P"});
  } catch (const SlurmError& e) {
    throw SlurmError(std::string("cannot list the partitions: ") + e.what());
  }
  std::string listed;
  bool found = false;
  std::istringstream in(names);
  for (std::string name; in >> name;) {
    if (!name.empty() && name.back() == '*') name.pop_back();  // the default partition
    found |= name == partition;
    listed += (listed.empty() ? "" : ", ") + name;
  }
  if (!found) throw SlurmError("partition " + partition + " does not exist (this cluster has: " + listed + ")");
}

int shards_done(const fs::path& dir, int tasks) {
  int done = 0;
  for (int k = 1; k <= tasks; ++k) done += fs::exists(dir / ("shard-" + std::to_string(k) + ".json"));
  return done;
}

}  // namespace

void submit_sweep_array(const SweepArray& s, std::ostream& out, std::ostream& err) {
  if (s.tasks < 1) throw SlurmError("--tasks must be at least 1");
  fs::path dir = "DIR";
  if (!s.print_only) check_cluster(s.partition);
  if (!s.print_only) {
    std::string tmpl = (fs::current_path() / "ckptsim-sweep-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw SlurmError("cannot create a directory for the sweep's files in " +
                                                  fs::current_path().string());
    dir = tmpl;
  }
  const std::string tasks = std::to_string(s.tasks);
  const std::string shard_script = "#!/bin/sh\nexec " + quote(s.ckptsim.string()) + " sweep" + joined(s.sweep_args) +
                                   " -q --shard \"$SLURM_ARRAY_TASK_ID/" + tasks + "\" -o " +
                                   quote((dir / "shard-").string()) + "\"$SLURM_ARRAY_TASK_ID.json\"\n";
  const std::string merge_script = "#!/bin/sh\nexec " + quote(s.ckptsim.string()) + " sweep --merge " +
                                   quote(dir.string()) + "/shard-*.json" + joined(s.merge_args) + "\n";
  Argv sbatch_array = {"sbatch", "--parsable", "--job-name=ckptsim-sweep", "--array=1-" + tasks};
  // The merge job's dependency on the array goes in at its place once the array's id is known.
  Argv sbatch_merge = {"sbatch", "--parsable", "--job-name=ckptsim-sweep-merge"};
  for (Argv* a : {&sbatch_array, &sbatch_merge})
    if (!s.partition.empty()) a->push_back("--partition=" + s.partition);
  sbatch_array.insert(sbatch_array.end(), {"-o", (dir / "shard-%a.log").string(), (dir / "shards.sh").string()});
  sbatch_merge.insert(sbatch_merge.end(), {"-o", (dir / "merge.out").string(), "-e", (dir / "merge.err").string(),
                                           (dir / "merge.sh").string()});
  const auto merge_after = [&](const std::string& array_id) {
    Argv a = sbatch_merge;
    a.insert(a.begin() + 3, "--dependency=afterok:" + array_id);
    return a;
  };
  if (s.print_only) {
    out << "# " << dir.string() << "/shards.sh\n" << shard_script << "# " << dir.string() << "/merge.sh\n"
        << merge_script << shell_line(sbatch_array) << "\n" << shell_line(merge_after("ARRAY_ID")) << "\n";
    return;
  }
  std::ofstream(dir / "shards.sh") << shard_script;
  std::ofstream(dir / "merge.sh") << merge_script;
  fs::permissions(dir / "shards.sh", fs::perms::owner_all);
  fs::permissions(dir / "merge.sh", fs::perms::owner_all);

  const std::string array_id = capture(sbatch_array);
  // With afterok on the array (--no-wait), or with none once every shard is
  // there: Slurm keeps a dependency on a task that was cancelled and then
  // requeued "never satisfied", whatever the task did after.
  auto submit_merge = [&](bool after_array) { return capture(after_array ? merge_after(array_id) : sbatch_merge); };
  if (!s.wait) {
    const std::string merge_id = submit_merge(true);
    err << "sweep: slurm: array job " << array_id << " (" << tasks << " shards), merge job " << merge_id
        << "; files in " << dir.string() << "\n";
    err << "sweep: slurm: the result will be in " << (dir / "merge.out").string() << "\n";
    return;
  }
  err << "sweep: slurm: array job " << array_id << " (" << tasks << " shards); files in " << dir.string() << "\n";
  // Waiting: a shard task that ends without its shard (cancelled, failed, its
  // node gone) is requeued once; a second loss is reported with the commands
  // that redo just the missing shards. The merge job goes in once every shard
  // is there.
  std::vector<bool> requeued(static_cast<size_t>(s.tasks) + 1, false);
  int shown = -1;
  while (shards_done(dir, s.tasks) < s.tasks) {
    const int done = shards_done(dir, s.tasks);
    if (done != shown) {
      err << "sweep: slurm: " << done << "/" << tasks << " shards done\n";
      shown = done;
    }
    std::vector<int> lost;
    for (int k = 1; k <= s.tasks; ++k) {
      if (fs::exists(dir / ("shard-" + std::to_string(k) + ".json"))) continue;
      const std::string task = array_id + "_" + std::to_string(k);
      const std::string state = job_field(task, "JobState");
      const bool ended_badly = state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" ||
                               state == "NODE_FAIL" || state == "OUT_OF_MEMORY" || state == "BOOT_FAIL" ||
                               state == "DEADLINE" || state == "COMPLETED";
      if (!ended_badly) continue;
      if (state == "COMPLETED") {  // ran, but its shard file is not there (yet: give it a moment)
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        if (fs::exists(dir / ("shard-" + std::to_string(k) + ".json"))) continue;
      }
      if (!requeued[k]) {
        requeued[k] = true;
        capture({"scontrol", "requeue", task});
        err << "sweep: slurm: shard " << k << " ended " << state << " without its result; requeued once\n";
      } else {
        lost.push_back(k);
      }
    }
    if (!lost.empty()) {
      std::string which, redo;
      for (int k : lost) {
        which += (which.empty() ? "" : ",") + std::to_string(k);
        redo += "; ckptsim sweep" + joined(s.sweep_args) + " -q --shard " + std::to_string(k) + "/" + tasks + " -o " +
                quote((dir / ("shard-" + std::to_string(k) + ".json")).string());
      }
      throw SlurmError("shard(s) " + which + " of array job " + array_id + " failed twice; logs in " + dir.string() +
                       "; rerun just them with:" + redo.substr(1) + "; then ckptsim sweep --merge " +
                       quote(dir.string()) + "/shard-*.json");
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  err << "sweep: slurm: " << tasks << "/" << tasks << " shards done\n";
  const std::string merge_id = submit_merge(false);
  err << "sweep: slurm: merge job " << merge_id << "\n";
  for (;;) {
    const std::string state = job_field(merge_id, "JobState");
    if (state == "COMPLETED") break;
    if (job_field(merge_id, "Reason") == "DependencyNeverSatisfied")
      throw SlurmError("merge job " + merge_id + " was never released (a shard of " + array_id + " failed); logs in " +
                       dir.string());
    if (state.empty() || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" || state == "NODE_FAIL" ||
        state == "OUT_OF_MEMORY")
      throw SlurmError("merge job " + merge_id + " ended " + (state.empty() ? "unseen" : state) + "; logs in " +
                       dir.string());
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::ifstream result(dir / "merge.out");
  out << result.rdbuf();
  out.flush();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace ckptsim::slurm
