// The paper's hardware as a profile, from its Table I (cases I and II only).
// Everything the table does not give is derived from an assumption that is
// written into the profile next to the numbers it produced.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "models/profile.h"
#include "util/format.h"

namespace ckptsim::models {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
// The paper: "at order 4100 the process was about 190 MB and its image about 285 MB".
constexpr double kPaperOrder = 4100;
constexpr double kPaperImageBytes = 285 * kMiB;
// Code, libc, stack and stdio buffers beside the three float matrices.
constexpr double kProcessBaseBytes = 2 * kMiB;
constexpr double kLinkBps = 125e6;       // Gigabit Ethernet
constexpr double kLinkLatency_s = 1e-4;  // one switch hop
constexpr double kTcpEfficiency = 0.97;  // what SimGrid's default TCP model delivers
constexpr double kCopySetup_s = 0.5;     // remote shell + connection set-up per copy
constexpr double kRebootSeconds = 100;   // the paper's "practical scenario"
constexpr double kRamBytes = 640 * kMiB; // the paper: 640 MB RAM per node

struct Row {
  double order, case1, case2;
};

std::vector<Row> read_table(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  if (!in) throw ProfileError("paper table " + csv.string() + ": cannot be read");
  std::string line;
  if (!std::getline(in, line) || line.rfind("matrix_order,case_I_turnaround_s,case_II_turnaround_s", 0) != 0)
    throw ProfileError("paper table " + csv.string() +
                       ": expected the header matrix_order,case_I_turnaround_s,case_II_turnaround_s");
  std::vector<Row> rows;
  int lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    Row r{};
    char extra = 0;
    if (std::sscanf(line.c_str(), "%lf,%lf,%lf%c", &r.order, &r.case1, &r.case2, &extra) != 3 ||
        !(r.order > 0) || !(r.case1 > 0) || !(r.case2 >= r.case1))
      throw ProfileError("paper table " + csv.string() + ": line " + std::to_string(lineno) +
                         " is not order,case_I,case_II with 0 < case_I <= case_II");
    rows.push_back(r);
  }
  if (rows.size() < 3) throw ProfileError("paper table " + csv.string() + ": needs at least 3 rows");
  return rows;
}

void describe_paper_machine(Profile& p, const std::filesystem::path& csv) {
  p.name = "paper-p4";
  p.source = "paper-table";
  p.machine = {
      {"cpu", "Pentium IV 1.5 GHz"},
      {"ram_bytes", kRamBytes},
      {"kernel", "Linux 2.4.18 (Red Hat 7.3)"},
      {"nodes", 8},
      {"head_nodes", 1},
      {"link", "Gigabit Ethernet"},
      {"table", csv.filename().string()},
  };
}

// Compute time: the case-I turnaround is the job's compute time (docs/internals.md).
FitResult fit_table_compute(Profile& p, const std::vector<Row>& rows) {
  std::vector<double> order, case1;
  for (const auto& r : rows) {
    order.push_back(r.order);
    case1.push_back(r.case1);
  }
  auto compute = fit_powers(order, case1, {0, 2, 3});
  p.compute_s = compute.curve;
  p.compute_s.x_unit = "order";
  p.compute_s.y_unit = "s";
  p.compute_s.why = "case-I turnaround of the paper's Table I; a*n^3 (multiply) + b*n^2 (fill, write) + c";
  return compute;
}

// Three float matrices and a base; the image scaled to the paper's one size.
void set_process_and_image(Profile& p) {
  p.process_bytes.powers = {0, 2};
  p.process_bytes.coef = {kProcessBaseBytes, 3 * 4};
  p.process_bytes.x_unit = "order";
  p.process_bytes.y_unit = "bytes";
  p.process_bytes.r2 = 1;
  p.process_bytes.why = "three n*n float matrices (A, B, A*B) plus a 2 MiB base (code, libc, stack, stdio)";

  const double image_per_process_byte = kPaperImageBytes / p.process_bytes(kPaperOrder);
  p.image_bytes.powers = {1};
  p.image_bytes.coef = {image_per_process_byte};
  p.image_bytes.x_unit = "bytes";
  p.image_bytes.y_unit = "bytes";
  p.image_bytes.r2 = 1;
  p.image_bytes.why = "proportional to the process, scaled to the paper's 285 MiB image at order 4100";
}

// The dump: case II - case I against image bytes, fitted with the node's
// memory knee (the study's nodes had 640 MB; while a job is stopped for its
// dump the node holds the process and the image going through the page
// cache). The knee (RAM the kernel and daemons keep) and the two rates are
// fitted together; the knee must leave every process of the table in RAM.
struct TableDumpFit {
  KneeFit knee;
  std::vector<double> image, dump;
  double rms = 0, worst = 0, sst = 0;
  std::string why;
};

TableDumpFit fit_table_dump(Profile& p, const std::vector<Row>& rows, const std::filesystem::path& csv) {
  TableDumpFit f;
  for (const auto& r : rows) {
    f.image.push_back(p.image_bytes(p.process_bytes(r.order)));
    f.dump.push_back(r.case2 - r.case1);
  }
  std::vector<double> need;
  double largest_process = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    need.push_back(p.process_bytes(rows[i].order) + f.image[i]);
    largest_process = std::max(largest_process, p.process_bytes(rows[i].order));
  }
  f.knee = fit_memory_knee(f.image, need, f.dump, kRamBytes, largest_process);
  const double dump_s_per_byte = f.knee.s_per_byte;
  if (!(dump_s_per_byte > 0))
    throw ProfileError("paper table " + csv.string() + ": the checkpoint cost does not grow with the image");
  p.memory = f.knee.memory;
  p.memory.why = "ram_bytes: the study's 640 MB nodes; reserved_bytes and swap_Bps fitted with the dump rate to "
                 "case II - case I of " + csv.filename().string() +
                 " (least squares, knee on a 0.25 MiB grid); swap size not published";
  for (double r : f.knee.residuals) {
    f.rms += r * r;
    f.worst = std::max(f.worst, std::fabs(r));
  }
  f.rms = std::sqrt(f.rms / f.knee.residuals.size());
  f.why = "case II - case I (one checkpoint per job) = image bytes / rate";
  f.why += f.knee.knee ? " + the memory term (see memory)" : " (no knee: it did not halve the residuals)";
  p.dump_s.powers = {1};
  p.dump_s.coef = {dump_s_per_byte};
  double mean = 0;
  for (double d : f.dump) mean += d / f.dump.size();
  for (double d : f.dump) f.sst += (d - mean) * (d - mean);
  p.dump_s.r2 = f.sst > 0 ? 1 - f.knee.sse / f.sst : 1;
  p.dump_s.x_unit = "bytes";
  p.dump_s.y_unit = "s";
  p.dump_s.why = f.why;
  return f;
}

// Not in the table: the link, the copy and the restore, assumed.
void set_assumed_costs(Profile& p, double dump_s_per_byte) {
  p.link_bandwidth_Bps = kLinkBps;
  p.link_latency_s = kLinkLatency_s;
  p.copy_s.powers = {0, 1};
  p.copy_s.coef = {kCopySetup_s, 1.0 / (kTcpEfficiency * kLinkBps)};
  p.copy_s.x_unit = "bytes";
  p.copy_s.y_unit = "s";
  p.copy_s.r2 = 1;
  p.copy_s.why = "assumed, not measured: see assumptions";

  // The restart reads the image back through the disk the dump wrote it to.
  p.restore_s.powers = {1};
  p.restore_s.coef = {dump_s_per_byte};
  p.restore_s.x_unit = "bytes";
  p.restore_s.y_unit = "s";
  p.restore_s.r2 = 1;
  p.restore_s.why = "assumed, not measured: see assumptions";

  p.disk_write_Bps = 1.0 / dump_s_per_byte;
  p.disk_read_Bps = 1.0 / dump_s_per_byte;
  p.reboot_s = kRebootSeconds;
}

void write_assumptions(Profile& p, const TableDumpFit& f) {
  const double img4100 = p.job_image_bytes(kPaperOrder);
  p.assumptions = {
      "turnaround in case I is the job's failure-free compute time (the table grows as n^3)",
      "process size = 12*n^2 bytes (three float matrices) + 2 MiB base; " +
          util::format("%.1f", p.process_bytes(kPaperOrder) / kMiB) + " MiB at order 4100 (the paper: about 190 MB)",
      "image size = " + util::format("%.4f", p.image_bytes.coef[0]) +
          " x process size, so that order 4100 gives the paper's 285 MiB image",
      "checkpoint (dump) cost = case II - case I, fitted against image bytes: " + f.why + " (R^2 = " +
          util::format("%.4f", p.dump_s.r2) + ", residuals RMS " + util::format("%.2f", f.rms) + " s, worst " + util::format("%.2f", f.worst) +
          " s; image bytes alone: R^2 " + util::format("%.4f", f.sst > 0 ? 1 - f.knee.sse_linear / f.sst : 1.0) +
          "); dump rate below the knee " + util::format("%.2f", 1e-6 / p.dump_s.coef[0]) + " MB/s",
      f.knee.knee ? "memory: a dump or restore needs process + image in RAM (the image passes through the page cache); of "
                  "the 640 MiB, " + util::format("%.1f", p.memory.reserved_bytes / kMiB) + " MiB are not usable (fitted knee: " +
                  util::format("%.1f", p.memory.usable_bytes() / kMiB) + " MiB), and what exceeds that moves at " +
                  util::format("%.2f", p.memory.swap_Bps / 1e6) + " MB/s (fitted swap rate); the paper blames swapping above 4100"
                : "memory: 640 MiB per node; no knee fitted",
      "copy to another node (case V) = " + util::format("%.1f", kCopySetup_s) +
          " s set-up + image over Gigabit Ethernet at 97 % of 125 MB/s (network-bound: the receiver keeps "
          "the image in its page cache); " + util::format("%.1f", p.job_copy_s(kPaperOrder)) + " s at order 4100",
      "restore = reading the image back at the dump's rate below the knee (same disk and kernel path, "
      "sequential I/O both ways), plus the same memory term (process + image); " +
          util::format("%.1f", p.job_restore_s(kPaperOrder)) + " s at order 4100 (" + util::format("%.0f", img4100 / kMiB) +
          " MiB image)",
      "node disk read and write bandwidth = the dump's effective rate",
      "link: 1 Gbit/s, 0.1 ms latency (one switch); node reboot after a failure: 100 s",
      "the paper's cases III-V were not used to derive anything here",
  };
}

}  // namespace

Profile profile_from_paper_table(const std::filesystem::path& csv) {
  const auto rows = read_table(csv);
  Profile p;
  describe_paper_machine(p, csv);
  const FitResult compute = fit_table_compute(p, rows);
  set_process_and_image(p);
  const TableDumpFit f = fit_table_dump(p, rows, csv);
  set_assumed_costs(p, f.knee.s_per_byte);
  write_assumptions(p, f);
  for (size_t i = 0; i < rows.size(); ++i)
    p.measurements.push_back({{"order", rows[i].order},
                              {"case_I_s", rows[i].case1},
                              {"case_II_s", rows[i].case2},
                              {"image_bytes", f.image[i]},
                              {"dump_s", f.dump[i]},
                              {"compute_residual_s", compute.residuals[i]},
                              {"dump_residual_s", f.knee.residuals[i]}});
  return p;
}

}  // namespace ckptsim::models
