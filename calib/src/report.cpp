#include "calib/report.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <utility>
#include <vector>

#include "util/subprocess.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

namespace {
void write_atomically(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  fs::path tmp = path;
  tmp += ".partial-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}
}  // namespace

void check_output_path(const fs::path& profile_json) {
  std::error_code ec;
  if (fs::is_directory(profile_json, ec)) throw OptionsError("--out " + profile_json.string() + " is a directory");
  const fs::path dir = profile_json.has_parent_path() ? profile_json.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec))
    throw OptionsError("cannot write --out " + profile_json.string() + ": directory " + dir.string() + " does not exist");
  // access() says yes to root on a read-only mount: really create a file.
  std::string probe = (dir / ".ckptsim-probe-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0)
    throw OptionsError("cannot write --out " + profile_json.string() + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

void write_profile(const FittedProfile& fitted, const fs::path& path) {
  nlohmann::json j = models::to_json(fitted.profile);
  j["fits"] = fitted.fit_details;
  write_atomically(path, j.dump(2) + "\n");
  models::load_profile(path);  // throws ProfileError if what we wrote does not validate
}

fs::path csv_path_for(const fs::path& profile_json) {
  fs::path p = profile_json;
  p.replace_extension(".csv");
  return p;
}

void write_csv(const CalibrationResult& r, const fs::path& path) {
  std::ostringstream o;
  o << std::setprecision(9);
  o << "kind,order,rep,rss_bytes,mapped_bytes,image_bytes,image_disk_bytes,image_files,dump_s,hash_s,copy_s,"
       "restore_s,restored_from,progressing,output_verified,swapped_pages,suspect,compute_s,oom,dump_peak_bytes,"
       "restore_peak_bytes,limit_hits\n";
  for (const auto& w : r.rows)
    o << "checkpoint," << w.order << "," << w.rep << "," << w.rss_bytes << "," << w.mapped_bytes << ","
      << w.image_bytes << "," << w.image_disk_bytes << "," << w.image_files << "," << w.dump_s << "," << w.hash_s
      << "," << w.copy_s << "," << w.restore_s << "," << w.restored_from << "," << w.progressing << ","
      << w.output_verified << "," << w.swapped_pages << "," << w.suspect << ",," << w.oom << ","
      << w.dump_peak_bytes << "," << w.restore_peak_bytes << "," << w.limit_hits << "\n";
  for (const auto& c : r.compute)
    o << "compute," << c.order << ",1,,,,,,,,,,,,,,," << (c.oom ? "" : std::to_string(c.seconds)) << ","
      << (c.oom ? "compute" : "") << "," << c.peak_bytes << ",,\n";
  write_atomically(path, o.str());
}

namespace {

// gnuplot's terminal for the figure's file type.
std::string plot_terminal(const fs::path& out) {
  const std::string ext = out.extension().string();
  if (ext == ".png") return "pngcairo size 1400,1000 font ',11'";
  if (ext == ".svg") return "svg size 1400,1000 font 'sans,11'";
  throw std::runtime_error("--plot wants a .png or .svg file, got '" + out.string() + "'");
}

// The measurements as inline data blocks ($rows, $model, $compute): one
// gnuplot script, no temp files. The orders that were OOM-killed go to
// `oom_orders` (they have no costs to plot).
void plot_data(std::ostream& s, const models::Profile& p, const CalibrationResult& r, std::string& oom_orders) {
  s << "$rows << EOD\n";
  std::vector<std::pair<double, double>> model;  // dump with the memory term, at each measured row
  for (const auto& w : r.rows) {
    if (!w.ok()) {
      oom_orders += (oom_orders.empty() ? "" : ", ") + std::to_string(w.order) + " (" + w.oom + ")";
      continue;
    }
    s << w.image_bytes / 1e6 << " " << w.dump_s << " " << w.copy_s << " " << w.restore_s << "\n";
    model.emplace_back(w.image_bytes / 1e6, p.dump_cost_s(static_cast<double>(w.rss_bytes), static_cast<double>(w.image_bytes)));
  }
  std::sort(model.begin(), model.end());
  s << "EOD\n$model << EOD\n";
  for (const auto& [x, y] : model) s << x << " " << y << "\n";
  s << "EOD\n$compute << EOD\n";
  for (const auto& c : r.compute)
    if (!c.oom) s << c.order << " " << c.seconds << "\n";
  s << "EOD\n";
}

// A fitted curve as a gnuplot expression in x (x scaled by `xscale` first).
std::string gnuplot_curve(const models::Curve& c, double xscale) {
  std::ostringstream e;
  e << std::setprecision(12) << "(0";
  for (size_t i = 0; i < c.powers.size(); ++i) e << "+(" << c.coef[i] << ")*(x*" << xscale << ")**" << c.powers[i];
  e << ")";
  return e.str();
}

std::string fit_title(const std::string& what, const models::Curve& c) {
  char b[200];
  std::snprintf(b, sizeof b, "%s fit (R^2 %.4f)", what.c_str(), c.r2);
  return std::string(b);
}

// The title's second line under a memory limit: the knee, and who was OOM-killed.
std::string memory_title(const models::Profile& p, const CalibrationResult& r, const std::string& oom_orders) {
  if (r.memory_limit_bytes <= 0) return "";
  char b[256];
  if (p.memory.swap_Bps > 0)
    std::snprintf(b, sizeof b, "\\n%.0f MiB limit: knee at %.0f MiB of process + image, past it %.2f MB/s",
                  r.memory_limit_bytes / 1048576.0, p.memory.usable_bytes() / 1048576.0, p.memory.swap_Bps / 1e6);
  else
    std::snprintf(b, sizeof b, "\\n%.0f MiB limit: no knee in the measured range", r.memory_limit_bytes / 1048576.0);
  std::string t = b;
  if (!oom_orders.empty()) t += "; OOM-killed: " + oom_orders;
  return t;
}

// Four panels: dump, copy and restore time against image size, and compute time against order.
void plot_panels(std::ostream& s, const models::Profile& p) {
  s << "set grid\nset key top left\nset xlabel 'image size (MB)'\nset ylabel 'seconds'\n";
  s << "set xrange [0:*]\nset yrange [0:*]\n";
  const char* names[3] = {"dump", "copy", "restore"};
  const models::Curve* curves[3] = {&p.dump_s, &p.copy_s, &p.restore_s};
  for (int i = 0; i < 3; ++i) {
    s << "set title '" << names[i] << " time against image size'\n";
    s << "plot $rows using 1:" << (i + 2) << " with points pt 7 ps 1.2 title 'measured', "
      << gnuplot_curve(*curves[i], 1e6) << " with lines lw 2 title '" << fit_title(names[i], *curves[i]) << "'";
    // With a knee, the dump model is the curve plus the memory term (of process + image).
    if (i == 0 && p.memory.swap_Bps > 0) s << ", $model using 1:2 with linespoints lw 2 dt 2 title 'with the memory term'";
    s << "\n";
  }
  s << "set title 'job compute time (uninterrupted)'\nset xlabel 'matrix order n'\nset xrange [*:*]\n";
  s << "plot $compute using 1:2 with points pt 7 ps 1.2 title 'measured', " << gnuplot_curve(p.compute_s, 1)
    << " with lines lw 2 title '" << fit_title("a n^3 + b n^2 + c", p.compute_s) << "'\n";
}

// Runs the script from a file beside the figure; one line from gnuplot if it fails.
void run_plot_script(const std::string& text, const fs::path& out) {
  const fs::path script = fs::path(out.string() + ".gp.tmp");
  {
    std::ofstream f(script);
    f << text;
  }
  util::CommandResult res = util::run_command({"gnuplot", script.string()});
  fs::remove(script);
  if (res.status != 0) {
    std::string first = res.output.substr(0, res.output.find('\n'));
    throw std::runtime_error("gnuplot failed: " + (first.empty() ? "status " + std::to_string(res.status) : first));
  }
}

}  // namespace

void plot(const FittedProfile& fitted, const CalibrationResult& r, const fs::path& out) {
  const std::string terminal = plot_terminal(out);
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  const models::Profile& p = fitted.profile;
  std::ostringstream s;
  s << std::setprecision(10);
  std::string oom_orders;
  plot_data(s, p, r, oom_orders);
  s << "set terminal " << terminal << "\nset output '" << out.string() << "'\n";
  s << "set multiplot layout 2,2 title \"" << p.name << ": " << r.copy_kind << " copy, "
    << p.machine.value("cpu", std::string("?")) << memory_title(p, r, oom_orders) << "\"\n";
  plot_panels(s, p);
  s << "unset multiplot\n";
  run_plot_script(s.str(), out);
}

void print_summary(const models::Profile& p, std::ostream& out) {
  auto rate = [](const models::Curve& c) {
    // seconds per byte -> MB/s (the slope of the fitted line)
    double slope = c.coef.empty() ? 0 : c.coef.back();
    return slope > 0 ? 1e-6 / slope : 0.0;
  };
  char buf[512];
  out << p.name << " (" << p.source << ")";
  if (p.machine.contains("cpu")) out << ": " << p.machine["cpu"].get<std::string>();
  if (p.machine.contains("kernel")) {
    const std::string k = p.machine["kernel"].get<std::string>();
    out << (k.rfind("Linux", 0) == 0 ? ", " : ", Linux ") << k;
  }
  out << "\n";
  // Orders outside the measured ones are the curves' extrapolation: say so.
  double lo = 0, hi = 0;
  if (p.measurements.is_array())
    for (const auto& m : p.measurements)
      if (m.is_object() && m.contains("order") && m["order"].is_number()) {
        const double o = m["order"].get<double>();
        lo = lo == 0 ? o : std::min(lo, o);
        hi = std::max(hi, o);
      }
  for (double n : {2100.0, 4100.0, 4800.0}) {
    std::snprintf(buf, sizeof buf,
                  "  order %4.0f: compute %8.1f s, process %6.1f MB, image %6.1f MB, dump %6.2f s, copy %6.2f s, "
                  "restore %6.2f s%s\n",
                  n, p.job_compute_s(n), p.process_bytes(n) / 1e6, p.job_image_bytes(n) / 1e6, p.job_dump_s(n),
                  p.job_copy_s(n), p.job_restore_s(n), hi > 0 && (n < lo || n > hi) ? " (extrapolated)" : "");
    out << buf;
  }
  char disk[64] = "not measured";
  if (p.disk_write_Bps > 0) std::snprintf(disk, sizeof disk, "%.0f MB/s", p.disk_write_Bps / 1e6);
  std::snprintf(buf, sizeof buf,
                "  rates: dump %.0f MB/s, copy %.0f MB/s, restore %.0f MB/s; link %.0f MB/s; disk write %s; "
                "reboot %.0f s\n",
                rate(p.dump_s), rate(p.copy_s), rate(p.restore_s), p.link_bandwidth_Bps / 1e6, disk, p.reboot_s);
  out << buf;
  if (p.memory.known() && !(p.memory.swap_Bps > 0)) {
    std::snprintf(buf, sizeof buf, "  memory: %.0f MiB RAM, no knee (no memory term)\n", p.memory.ram_bytes / 1048576.0);
    out << buf;
  } else if (p.memory.known()) {
    std::snprintf(buf, sizeof buf,
                  "  memory: %.0f MiB RAM, %.1f MiB reserved (knee at %.1f MiB of process + image), "
                  "past it %.2f MB/s\n",
                  p.memory.ram_bytes / 1048576.0, p.memory.reserved_bytes / 1048576.0,
                  p.memory.usable_bytes() / 1048576.0, p.memory.swap_Bps / 1e6);
    out << buf;
  }
  if (p.measurements.is_array() && !p.measurements.empty()) {
    out << "  " << p.measurements.size() << " raw measurement rows";
    // A profile from the paper's table carries the dump fit's residuals.
    double rms = 0, worst = 0;
    size_t n = 0;
    for (const auto& m : p.measurements)
      if (m.contains("dump_residual_s")) {
        const double r = m["dump_residual_s"].get<double>();
        rms += r * r, worst = std::max(worst, std::fabs(r)), ++n;
      }
    if (n) {
      std::snprintf(buf, sizeof buf, "; dump fit residuals RMS %.2f s, worst %.2f s", std::sqrt(rms / n), worst);
      out << buf;
    }
    out << "\n";
  }
}

fs::path default_profile_path() {
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  return fs::path("data/profiles") / (std::string(host) + "-" + date + ".json");
}

}  // namespace ckptsim::calib
