// `ckptsim calibrate`: measure dump/copy/restore costs on this machine and fit
// cost curves (calib/), or derive the paper's profile from its Table I.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "calib/calibrate.h"
#include "calib/fit.h"
#include "calib/memory_cgroup.h"
#include "calib/report.h"
#include "calib/shared_storage.h"
#include "calib/transfer.h"
#include "commands.h"
#include "models/profile.h"
#include "util/format.h"
#include "util/progress_bar.h"
#include "util/stop.h"

namespace ckptsim::cli {

namespace {

struct CalibrateArgs {
  std::string from_table, show, sizes, copy = "netns", out, plot, compute_sizes = "sizes", work_dir, name,
                                       memory_limit, shared_dir, add_to;
  int shared_writers = 4;
  int reps = 3, verify_order = 0;
  bool keep_work_dir = false, no_disk_probe = false;
  int threads = 1;
};

int from_table(const CalibrateArgs& a) {
  const std::string out = a.out.empty() ? "data/profiles/paper-p4.json" : a.out;
  models::Profile p = models::profile_from_paper_table(a.from_table);
  models::save_profile(p, out);
  models::load_profile(out);  // what we wrote must validate
  std::cout << "wrote " << out << " from " << a.from_table << "\n";
  calib::print_summary(p, std::cout);
  return 0;
}

// --shared-dir DIR --add-to PROFILE: the shared file system alone, into a profile.
int add_shared(const CalibrateArgs& a) {
  const std::filesystem::path out = a.out.empty() ? std::filesystem::path(a.add_to) : std::filesystem::path(a.out);
  models::SharedStorage s;
  try {
    s = calib::add_shared_storage(a.add_to, calib::SharedProbe{a.shared_dir, 256ull << 20, a.shared_writers}, out);
  } catch (const calib::OptionsError& e) {
    throw Exit(2, std::string("calibrate: ") + e.what());
  }
  std::cout << "wrote " << out.string() << ": shared " << a.shared_dir << " (" << s.fs << ") "
            << util::format("%.0f MB/s", s.write_Bps / 1e6) << " with " << s.writers << " writers, "
            << util::format("%.0f MB/s", s.client_write_Bps / 1e6) << " one writer, read "
            << util::format("%.0f MB/s", s.read_Bps / 1e6) << "\n";
  return 0;
}

int show(const CalibrateArgs& a) {
  models::Profile p = models::load_profile(a.show);
  calib::print_summary(p, std::cout);
  return 0;
}

// The options as calibrate runs them; one line and exit 2 for what CLI11 cannot check.
calib::CalibrationOptions calibration_options(const CalibrateArgs& a) {
  calib::CalibrationOptions o;
  try {
    o.sizes = models::parse_sizes(a.sizes);
    if (a.compute_sizes.rfind("spread:", 0) == 0) o.compute_spread = std::stoi(a.compute_sizes.substr(7));
    else if (a.compute_sizes != "sizes") o.compute_sizes = models::parse_sizes(a.compute_sizes);
  } catch (const models::ProfileError& e) {
    throw Exit(2, std::string("calibrate: bad sizes: ") + e.what());
  }
  if (a.reps < 1) throw Exit(2, "calibrate: --reps must be at least 1");
  if (a.copy != "netns" && a.copy != "loopback") {
    try {
      calib::parse_endpoint(a.copy);
    } catch (const calib::TransferError& e) {
      throw Exit(2, std::string("calibrate: bad --copy: ") + e.what() + " (or netns, loopback)");
    }
  }
  if (!a.plot.empty()) {
    std::string ext = std::filesystem::path(a.plot).extension().string();
    if (ext != ".png" && ext != ".svg") throw Exit(2, "calibrate: --plot wants a .png or .svg file");
  }
  o.reps = a.reps;
  o.copy = a.copy;
  o.verify_order = a.verify_order;
  o.work_dir = a.work_dir;
  o.keep_work_dir = a.keep_work_dir;
  o.job_threads = a.threads;
  o.shared_dir = a.shared_dir;
  o.shared_writers = a.shared_writers;
  if (a.no_disk_probe) o.disk_probe_bytes = 0;
  if (!a.memory_limit.empty()) o.memory_limit_bytes = calib::parse_memory_size(a.memory_limit);  // checked by CLI11
  return o;
}

// What the user reads at the end: where things went, the summary, the models.
void report(const CalibrateArgs& a, const calib::FittedProfile& fitted, const calib::CalibrationResult& r,
            const std::filesystem::path& out, util::ProgressBar& progress) {
  progress.info("profile: " + out.string());
  if (!a.plot.empty()) {
    calib::plot(fitted, r, a.plot);
    progress.info("plot: " + a.plot);
  }
  char took[64];
  std::snprintf(took, sizeof took, "%.0f s", r.elapsed_s);
  progress.info(std::string("calibration took ") + took + (r.interrupted ? " (interrupted)" : ""));
  calib::print_summary(fitted.profile, std::cout);
  for (const auto& [label, c] : std::vector<std::pair<std::string, const models::Curve*>>{
           {"dump", &fitted.profile.dump_s}, {"copy", &fitted.profile.copy_s}, {"restore", &fitted.profile.restore_s}})
    std::cout << "  " << label << " model: " << c->why << "\n";
}

int measure(const CalibrateArgs& a) {
  calib::CalibrationOptions o = calibration_options(a);
  const std::filesystem::path out = a.out.empty() ? calib::default_profile_path() : std::filesystem::path(a.out);
  const std::string name = a.name.empty() ? out.stem().string() : a.name;
  try {
    // The default profile directory is ours to create; a path the user gave is not.
    std::error_code ec;
    if (a.out.empty()) std::filesystem::create_directories(out.parent_path(), ec);
    calib::check_output_path(out);
    calib::check_options(o);
  } catch (const calib::OptionsError& e) {
    throw Exit(2, std::string("calibrate: ") + e.what());
  }

  util::install_stop_handlers();
  util::ProgressBar progress(std::cerr, isatty(STDERR_FILENO), 1);
  calib::CalibrationResult r;
  try {
    r = calib::run_calibration(o, progress);
  } catch (const calib::TransferError& e) {
    throw Exit(2, std::string("calibrate: ") + e.what());
  } catch (const calib::CgroupUnavailable& e) {
    throw Exit(2, std::string("calibrate: --memory-limit: ") + e.what());
  }
  const auto csv = calib::csv_path_for(out);
  calib::write_csv(r, csv);
  progress.info("raw rows: " + csv.string());
  calib::FittedProfile fitted;
  try {
    fitted = calib::build_profile(r, name);
  } catch (const std::runtime_error& e) {
    throw Exit(r.interrupted ? 130 : 1, std::string("calibrate: no profile written: ") + e.what());
  }
  for (const auto& w : fitted.warnings) progress.warn(w);
  for (const auto& n : fitted.notes) progress.info(n);
  try {
    calib::write_profile(fitted, out);
  } catch (const models::ProfileError& e) {
    throw Exit(2, "calibrate: the profile written to " + out.string() + " fails validation: " + e.what());
  }
  report(a, fitted, r, out, progress);
  return r.interrupted ? 130 : 0;
}

}  // namespace

void add_calibrate(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("calibrate", "Measure dump/copy/restore costs on this machine and fit cost curves");
  auto a = std::make_shared<CalibrateArgs>();
  cmd->add_option("--sizes", a->sizes, "matrix orders: A:B[:STEP] (default step 100) or a list N,N,...");
  cmd->add_option("--reps", a->reps, "repetitions per order")->capture_default_str();
  cmd->add_option("--copy", a->copy, "where images are copied: netns (1 Gbit/s veth), loopback, or HOST:PORT")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "profile JSON (default data/profiles/<hostname>-<date>.json; CSV beside it)");
  cmd->add_option("--plot", a->plot, "draw measured points and fitted curves to FILE.png or FILE.svg");
  cmd->add_option("--compute-sizes", a->compute_sizes,
                  "orders of the timed uninterrupted runs: 'sizes' (every --sizes order), 'spread:K' (K of them, "
                  "spread, ends included) or A:B[:STEP] / N,N,...")
      ->check([](const std::string& v) -> std::string {
        if (v.rfind("spread:", 0) == 0) {
          const std::string k = v.substr(7);
          if (k.empty() || k.size() > 6 || k.find_first_not_of("0123456789") != std::string::npos || std::stoi(k) < 3)
            return "spread:K wants a whole K >= 3";
          return "";
        }
        return "";  // a list or range: parse_sizes says what is wrong
      })
      ->capture_default_str();
  auto* memory_limit = cmd->add_option("--memory-limit", a->memory_limit,
                  "run jobs, dumps and restores in a memory cgroup with this limit (e.g. 640M), so this machine "
                  "stands in for a node with that much RAM; root, cgroup v1 memory or v2")
      ->check([](const std::string& v) -> std::string {
        try {
          if (calib::parse_memory_size(v) < calib::kMinMemoryLimitBytes)
            return "'" + v + "' is below the minimum " + std::to_string(calib::kMinMemoryLimitBytes >> 20) + "M";
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
        return "";
      });
  cmd->add_option("--verify-order", a->verify_order,
                  "order whose restored job runs to the end and is compared (default: the smallest; it must fit "
                  "in memory)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--work-dir", a->work_dir,
                  "existing directory in which the scratch directory for images is made (default $TMPDIR or /var/tmp)");
  cmd->add_flag("--keep-work-dir", a->keep_work_dir, "keep the scratch directory");
  cmd->add_option("--threads", a->threads, "threads of the measured job (ckpt-matmul --threads); the profile records it")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_flag("--no-disk-probe", a->no_disk_probe, "skip the sequential disk write/read measurement");
  cmd->add_option("--name", a->name, "profile name (default: the --out file name)");
  auto* from_table_opt = cmd->add_option("--from-table", a->from_table,
                  "derive a profile from the paper's Table I CSV instead of measuring (--out, default "
                  "data/profiles/paper-p4.json)");
  auto* show_opt = cmd->add_option("--show", a->show, "validate a profile and print a summary of it");
  memory_limit->excludes(from_table_opt)->excludes(show_opt);  // it shapes a measurement, not a table or a file
  auto* shared_dir = cmd->add_option("--shared-dir", a->shared_dir,
                                     "also measure this directory (e.g. an NFS mount) as the nodes' shared file "
                                     "system: what `simulate --shared-storage measured` uses")
                         ->excludes(from_table_opt)
                         ->excludes(show_opt);
  cmd->add_option("--shared-writers", a->shared_writers, "with --shared-dir: writers at once, standing in for nodes")
      ->check(CLI::Range(1, 64))
      ->needs(shared_dir)
      ->capture_default_str();
  cmd->add_option("--add-to", a->add_to,
                  "with --shared-dir: measure only the shared directory and add it to this existing profile "
                  "(written to --out, default the same file)")
      ->needs(shared_dir)
      ->excludes(memory_limit);
  cmd->callback([&exit_code, a] {
    if (!a->add_to.empty()) exit_code = add_shared(*a);
    else if (!a->from_table.empty()) exit_code = from_table(*a);
    else if (!a->show.empty()) exit_code = show(*a);
    else if (a->sizes.empty()) throw Exit(2, "calibrate: --sizes is required (e.g. --sizes 2100:4800:300)");
    else exit_code = measure(*a);
  });
}

}  // namespace ckptsim::cli
