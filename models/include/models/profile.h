// A machine profile: what the simulator needs to know about one kind of node,
// measured by `ckptsim calibrate` (or derived from the paper's table). All
// times in seconds, all sizes in bytes. See docs/DESIGN.md, "Profiles".
#pragma once
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ckptsim::models {

struct ProfileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// y = sum_i coef[i] * x^power[i]. Cost curves are linear (powers {0,1});
// the job's compute time is cubic in the matrix order (powers {0,2,3}).
struct Curve {
  std::vector<int> powers;
  std::vector<double> coef;
  std::string x_unit, y_unit;  // e.g. "bytes" -> "s"
  double r2 = 1.0;             // goodness of fit on the points it came from
  std::string why;             // why this model was chosen (free text)
  double operator()(double x) const;
};

struct FitResult {
  Curve curve;
  std::vector<double> residuals;  // y - fitted, in input order
};

// Least squares (Eigen, QR) of y against the given powers of x. Throws
// ProfileError if there are fewer points than coefficients.
FitResult fit_powers(const std::vector<double>& x, const std::vector<double>& y,
                     const std::vector<int>& powers);

struct Profile {
  std::string name;
  std::string source;              // "calibrate" or "paper-table"
  nlohmann::json machine;          // cpu, kernel, fs, link... free form
  std::vector<std::string> assumptions;

  Curve compute_s;      // x = matrix order n -> failure-free compute time of the job
  Curve process_bytes;  // x = matrix order n -> process size (RSS)
  Curve image_bytes;    // x = process bytes  -> checkpoint image size
  Curve dump_s;         // x = image bytes -> checkpoint (dump) time, job stopped
  Curve copy_s;         // x = image bytes -> copy of the image to another node
  Curve restore_s;      // x = image bytes -> restart start -> job running again

  double link_bandwidth_Bps = 125e6;  // node-to-node link (Gigabit Ethernet)
  double link_latency_s = 1e-4;
  double disk_write_Bps = 0;          // 0: not measured
  double disk_read_Bps = 0;
  double reboot_s = 0;                // node downtime after a failure (case IIIp)
  nlohmann::json measurements = nlohmann::json::array();  // raw rows

  // Convenience: the job of matrix order n.
  double job_compute_s(double n) const { return compute_s(n); }
  double job_image_bytes(double n) const { return image_bytes(process_bytes(n)); }
  double job_dump_s(double n) const { return dump_s(job_image_bytes(n)); }
  double job_copy_s(double n) const { return copy_s(job_image_bytes(n)); }
  double job_restore_s(double n) const { return restore_s(job_image_bytes(n)); }
};

nlohmann::json to_json(const Profile& p);
// Validates (schema version, required curves, finite non-negative values):
// throws ProfileError with one line naming the problem.
Profile profile_from_json(const nlohmann::json& j);
Profile load_profile(const std::filesystem::path& path);
void save_profile(const Profile& p, const std::filesystem::path& path);

// The paper's hardware, from its Table I (cases I and II), with the stated
// assumptions for what the paper does not publish (restore, copy).
Profile profile_from_paper_table(const std::filesystem::path& csv);

// "2100:4800", "2100:4800:300", "2100,2500,4100" -> orders. Throws ProfileError
// for bad specs (A > B, zero, non-numbers, step <= 0, empty).
std::vector<int> parse_sizes(const std::string& spec, int default_step = 100);

}  // namespace ckptsim::models
