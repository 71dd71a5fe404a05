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

void set_storage(Scenario& s, const StorageChoice& c) {
  const bool shared = c.total_MBps || c.measured;
  if (c.client_MBps && !shared) throw SimError("--shared-client needs --shared-storage");
  s.storage = Storage{};
  if (!shared) return;
  const models::SharedStorage& measured = s.profile.shared_storage;
  if (c.measured && !measured.known())
    throw SimError("--shared-storage measured: profile " + s.profile.name +
                   " has no shared file system measured (calibrate --shared-dir DIR --add-to PROFILE)");
  s.storage.shared = true;
  s.storage.total_Bps = c.measured ? measured.write_Bps : bytes_per_second(*c.total_MBps, "--shared-storage");
  if (c.client_MBps) s.storage.client_Bps = bytes_per_second(*c.client_MBps, "--shared-client");
  else if (c.measured) s.storage.client_Bps = std::min(measured.client_write_Bps, s.storage.total_Bps);
  if (s.storage.client_Bps > s.storage.total_Bps)
    throw SimError("--shared-client " + mbps(s.storage.client_Bps) + " is above the shared storage's total " +
                   mbps(s.storage.total_Bps));
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
