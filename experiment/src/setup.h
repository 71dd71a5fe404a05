// The phases every way of running the experiment shares (on this machine's
// slots, or as Slurm batch jobs): options completed, the scratch directory,
// the profile, the compute curve through times measured as used, and the
// parameters that title the result.
#pragma once
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/experiment.h"
#include "models/profile.h"
#include "util/scratch_dir.h"

namespace ckptsim::experiment {

// Checked (check_options), the programs found; throws ExperimentError.
Options completed_options(const Options& given, std::vector<std::string>& warnings);

// The options' work_dir (or a fresh one under $TMPDIR or /var/tmp), removed
// on every way out unless keep_work_dir.
util::ScratchDir work_dir_of(const Options& o);

// The profile: loaded (--profile), or calibrated now at the options' orders
// (o.copy "local": the copy over loopback). False if interrupted.
bool load_or_calibrate(const Options& o, const std::filesystem::path& work, std::ostream& out, models::Profile& profile,
                       Result& res);

// The profile's compute curve through the job's wall time at these orders.
void fit_compute_as_used(models::Profile& p, const std::vector<int>& orders, const std::vector<double>& seconds);

// The "parameters" of the result (title, JSON): the options, plus `compute`.
nlohmann::json parameters_of(const Options& o, const nlohmann::json& compute);

}  // namespace ckptsim::experiment
