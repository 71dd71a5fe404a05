// Writing what a calibration found: the profile JSON (validated by reading it
// back), a CSV of the raw rows beside it, an optional gnuplot plot, and a
// human summary of any profile.
#pragma once
#include <filesystem>
#include <iosfwd>
#include <string>

#include "calib/calibrate.h"
#include "calib/fit.h"
#include "models/profile.h"

namespace ckptsim::calib {

// The profile as models::to_json writes it, plus "fits" (points, residuals,
// why each model) and "compute_runs". Written atomically (temp + rename), then
// read back with models::load_profile: throws models::ProfileError if it does
// not validate.
void write_profile(const FittedProfile& fitted, const std::filesystem::path& path);

// Before measuring: the profile (and the CSV beside it) can be written there:
// not a directory, its directory exists and accepts a new file. Throws OptionsError.
void check_output_path(const std::filesystem::path& profile_json);

// One line per measurement row (and per compute run, kind = compute).
void write_csv(const CalibrationResult& r, const std::filesystem::path& path);

// The CSV beside a profile: same name, .csv.
std::filesystem::path csv_path_for(const std::filesystem::path& profile_json);

// PNG or SVG (by extension): measured points and fitted curves for dump, copy,
// restore against image size, and compute time against the order. Throws
// std::runtime_error if gnuplot fails or the extension is neither.
void plot(const FittedProfile& fitted, const CalibrationResult& r, const std::filesystem::path& out);

// A few lines describing a profile (for `calibrate --show` and the demo).
void print_summary(const models::Profile& p, std::ostream& out);

// The default output: data/profiles/<hostname>-<YYYY-MM-DD>.json
std::filesystem::path default_profile_path();

}  // namespace ckptsim::calib
