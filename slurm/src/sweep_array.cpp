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

#include "slurm/cluster.h"
#include "slurm/sweep_array.h"
#include "slurm_tools.h"
#include "util/scratch_dir.h"
#include "util/subprocess.h"

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


int shards_done(const fs::path& dir, int tasks) {
  int done = 0;
  for (int k = 1; k <= tasks; ++k) done += fs::exists(dir / ("shard-" + std::to_string(k) + ".json"));
  return done;
}

}  // namespace

namespace {

bool ended_without_result(const std::string& state) {
  return state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" || state == "NODE_FAIL" ||
         state == "OUT_OF_MEMORY" || state == "BOOT_FAIL" || state == "DEADLINE" || state == "COMPLETED";
}

// One sweep as a job array and a merge job: their scripts and sbatch lines,
// submitting them, following the shards and handing on the merged result.
class SweepArrayJob {
 public:
  SweepArrayJob(const SweepArray& s, fs::path dir) : s_(s), dir_(std::move(dir)), tasks_(std::to_string(s.tasks)) {
    sbatch_array_ = {"sbatch", "--parsable", "--job-name=ckptsim-sweep", "--array=1-" + tasks_};
    sbatch_merge_ = {"sbatch", "--parsable", "--job-name=ckptsim-sweep-merge"};
    for (Argv* a : {&sbatch_array_, &sbatch_merge_})
      if (!s.partition.empty()) a->push_back("--partition=" + s.partition);
    sbatch_array_.insert(sbatch_array_.end(), {"-o", (dir_ / "shard-%a.log").string(), (dir_ / "shards.sh").string()});
    sbatch_merge_.insert(sbatch_merge_.end(), {"-o", (dir_ / "merge.out").string(), "-e", (dir_ / "merge.err").string(),
                                               (dir_ / "merge.sh").string()});
  }

  std::string shard_script() const {
    return "#!/bin/sh\nexec " + quote(s_.ckptsim.string()) + " sweep" + joined(s_.sweep_args) +
           " -q --shard \"$SLURM_ARRAY_TASK_ID/" + tasks_ + "\" -o " + quote((dir_ / "shard-").string()) +
           "\"$SLURM_ARRAY_TASK_ID.json\"\n";
  }
  std::string merge_script() const {
    return "#!/bin/sh\nexec " + quote(s_.ckptsim.string()) + " sweep --merge " + quote(dir_.string()) +
           "/shard-*.json" + joined(s_.merge_args) + "\n";
  }
  // The merge job's dependency on the array goes in at its place once the array's id is known.
  Argv merge_after(const std::string& array_id) const {
    Argv a = sbatch_merge_;
    a.insert(a.begin() + 3, "--dependency=afterok:" + array_id);
    return a;
  }

  void print(std::ostream& out) const {
    out << "# " << dir_.string() << "/shards.sh\n" << shard_script() << "# " << dir_.string() << "/merge.sh\n"
        << merge_script() << shell_line(sbatch_array_) << "\n" << shell_line(merge_after("ARRAY_ID")) << "\n";
  }

  void submit_array() {
    std::ofstream(dir_ / "shards.sh") << shard_script();
    std::ofstream(dir_ / "merge.sh") << merge_script();
    fs::permissions(dir_ / "shards.sh", fs::perms::owner_all);
    fs::permissions(dir_ / "merge.sh", fs::perms::owner_all);
    array_id_ = capture(sbatch_array_);
  }

  // With afterok on the array (--no-wait), or with none once every shard is
  // there: Slurm keeps a dependency on a task that was cancelled and then
  // requeued "never satisfied", whatever the task did after.
  std::string submit_merge(bool after_array) const {
    return capture(after_array ? merge_after(array_id_) : sbatch_merge_);
  }

  // A shard task that ends without its shard (cancelled, failed, its node
  // gone) is requeued once; a second loss is reported with the commands that
  // redo just the missing shards.
  void follow_shards(std::ostream& err) {
    std::vector<bool> requeued(static_cast<size_t>(s_.tasks) + 1, false);
    int shown = -1;
    while (shards_done(dir_, s_.tasks) < s_.tasks) {
      const int done = shards_done(dir_, s_.tasks);
      if (done != shown) {
        err << "sweep: slurm: " << done << "/" << tasks_ << " shards done\n";
        shown = done;
      }
      std::vector<int> lost;
      for (int k = 1; k <= s_.tasks; ++k) {
        if (has_shard(k)) continue;
        const std::string task = array_id_ + "_" + std::to_string(k);
        const std::string state = job_field(task, "JobState");
        if (!ended_without_result(state)) continue;
        if (state == "COMPLETED") {  // ran, but its shard file is not there (yet: give it a moment)
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          if (has_shard(k)) continue;
        }
        if (requeued[k]) {
          lost.push_back(k);
          continue;
        }
        requeued[k] = true;
        capture({"scontrol", "requeue", task});
        err << "sweep: slurm: shard " << k << " ended " << state << " without its result; requeued once\n";
      }
      if (!lost.empty()) throw_lost(lost);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    err << "sweep: slurm: " << tasks_ << "/" << tasks_ << " shards done\n";
  }

  void wait_for_merge(const std::string& merge_id) const {
    for (;;) {
      const std::string state = job_field(merge_id, "JobState");
      if (state == "COMPLETED") return;
      if (job_field(merge_id, "Reason") == "DependencyNeverSatisfied")
        throw SlurmError("merge job " + merge_id + " was never released (a shard of " + array_id_ +
                         " failed); logs in " + dir_.string());
      if (state.empty() || state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" || state == "NODE_FAIL" ||
          state == "OUT_OF_MEMORY")
        throw SlurmError("merge job " + merge_id + " ended " + (state.empty() ? "unseen" : state) + "; logs in " +
                         dir_.string());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

  const std::string& array_id() const { return array_id_; }
  const std::string& tasks() const { return tasks_; }
  const fs::path& dir() const { return dir_; }

 private:
  bool has_shard(int k) const { return fs::exists(dir_ / ("shard-" + std::to_string(k) + ".json")); }

  [[noreturn]] void throw_lost(const std::vector<int>& lost) const {
    std::string which, redo;
    for (int k : lost) {
      which += (which.empty() ? "" : ",") + std::to_string(k);
      redo += "; ckptsim sweep" + joined(s_.sweep_args) + " -q --shard " + std::to_string(k) + "/" + tasks_ + " -o " +
              quote((dir_ / ("shard-" + std::to_string(k) + ".json")).string());
    }
    throw SlurmError("shard(s) " + which + " of array job " + array_id_ + " failed twice; logs in " + dir_.string() +
                     "; rerun just them with:" + redo.substr(1) + "; then ckptsim sweep --merge " +
                     quote(dir_.string()) + "/shard-*.json");
  }

  const SweepArray& s_;
  fs::path dir_;
  std::string tasks_;
  Argv sbatch_array_, sbatch_merge_;
  std::string array_id_;
};

// A private directory for the sweep's scripts, logs and shards, on the file
// system the build is on (the tasks must see it).
// It outlives us: the tasks and the merge job write their results there.
fs::path make_sweep_dir() {
  util::ScratchDir dir = util::ScratchDir::create((fs::current_path() / "ckptsim-sweep-XXXXXX").string());
  if (!dir) throw SlurmError("cannot create a directory for the sweep's files in " + fs::current_path().string());
  dir.keep();
  return dir.path();
}

}  // namespace

void submit_sweep_array(const SweepArray& s, std::ostream& out, std::ostream& err) {
  if (s.tasks < 1) throw SlurmError("--tasks must be at least 1");
  if (s.print_only) return SweepArrayJob(s, "DIR").print(out);
  err << "sweep: slurm: " << describe(check_cluster(s.partition)) << "\n";
  SweepArrayJob job(s, make_sweep_dir());
  job.submit_array();
  if (!s.wait) {
    const std::string merge_id = job.submit_merge(true);
    err << "sweep: slurm: array job " << job.array_id() << " (" << job.tasks() << " shards), merge job " << merge_id
        << "; files in " << job.dir().string() << "\n";
    err << "sweep: slurm: the result will be in " << (job.dir() / "merge.out").string() << "\n";
    return;
  }
  err << "sweep: slurm: array job " << job.array_id() << " (" << job.tasks() << " shards); files in "
      << job.dir().string() << "\n";
  job.follow_shards(err);
  const std::string merge_id = job.submit_merge(false);
  err << "sweep: slurm: merge job " << merge_id << "\n";
  job.wait_for_merge(merge_id);
  std::ifstream result(job.dir() / "merge.out");
  out << result.rdbuf();
  out.flush();
  std::error_code ec;
  fs::remove_all(job.dir(), ec);
}

}  // namespace ckptsim::slurm
