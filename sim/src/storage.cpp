// Where images go: each node's disk, or a shared file system (sim/simulate.h, Storage).
#include <algorithm>
#include <cmath>

#include "cluster_platform.h"
#include "sim/simulate.h"
#include "util/format.h"

namespace ckptsim::sim {

namespace {

double bytes_per_second(double MBps, const char* option) {
  if (!std::isfinite(MBps) || !(MBps > 0))
    throw SimError(std::string(option) + " must be a finite number of MB/s > 0");
  return MBps * 1e6;
}

std::string mbps(double Bps) { return util::format("%.0f MB/s", Bps / 1e6); }

}  // namespace

void set_storage(Scenario& s, std::optional<double> total_MBps, std::optional<double> client_MBps) {
  if (client_MBps && !total_MBps) throw SimError("--shared-client needs --shared-storage");
  s.storage = Storage{};
  if (!total_MBps) return;
  s.storage.shared = true;
  s.storage.total_Bps = bytes_per_second(*total_MBps, "--shared-storage");
  if (client_MBps) s.storage.client_Bps = bytes_per_second(*client_MBps, "--shared-client");
}

double uncontended_image_io_s(const Scenario& s, double disk_s, bool write) {
  if (!s.storage.shared) return disk_s;
  const double path_Bps = std::min(node_link_Bps(s.profile, s.storage.client_Bps), s.storage.total_Bps);
  return disk_s * image_disk_Bps(s.profile, write) / path_Bps;
}

std::string describe_storage(const Storage& st) {
  if (!st.shared) return "local disks";
  return "shared file system " + mbps(st.total_Bps) +
         (st.client_Bps > 0 ? " (" + mbps(st.client_Bps) + " per node)" : "");
}

}  // namespace ckptsim::sim
