// Building (or loading) the cluster the jobs run on.
#include "cluster_platform.h"

#include <algorithm>

#include "sim/simulate.h"

namespace ckptsim::sim {
namespace {

namespace s4u = simgrid::s4u;

// Only the ratio flops/speed matters (a job's compute time comes from the
// profile), so any speed will do.
constexpr double kNodeFlops = 1e9;
// Used when the profile has no disk rate: the disk then only orders I/O, the
// dump and restore times still come from the profile's curves.
constexpr double kFallbackDiskBps = 50e6;

}  // namespace

double disk_rate(double measured, const models::Curve& cost_per_byte) {
  if (measured > 0) return measured;
  // A linear cost curve's slope is seconds per byte: its inverse is a rate.
  for (size_t i = 0; i < cost_per_byte.powers.size(); ++i)
    if (cost_per_byte.powers[i] == 1 && cost_per_byte.coef[i] > 0) return 1.0 / cost_per_byte.coef[i];
  return kFallbackDiskBps;
}

double node_link_Bps(const models::Profile& profile, double client_Bps) {
  return client_Bps > 0 ? std::min(profile.link_bandwidth_Bps, client_Bps) : profile.link_bandwidth_Bps;
}

double image_disk_Bps(const models::Profile& profile, bool write) {
  return write ? disk_rate(profile.disk_write_Bps, profile.dump_s) : disk_rate(profile.disk_read_Bps, profile.restore_s);
}

namespace {

ClusterPlatform build_in_code(const models::Profile& profile, int nodes, int spares, const SharedStorageLinks& fs) {
  auto* zone = s4u::create_star_zone("cluster");
  const double read_bps = image_disk_Bps(profile, false);
  const double write_bps = image_disk_Bps(profile, true);
  ClusterPlatform p;
  auto attach = [&](const std::string& name, double link_Bps) {
    s4u::Host* host = zone->create_host(name, kNodeFlops);
    auto* link = zone->create_split_duplex_link(name + "-eth", link_Bps)
                     ->set_latency(profile.link_latency_s);
    link->seal();
    zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr,
                    {{link, s4u::LinkInRoute::Direction::UP}}, true);
    return host;
  };
  auto node = [&](const std::string& name, std::vector<s4u::Host*>& hosts, std::vector<s4u::Disk*>& disks) {
    s4u::Host* host = attach(name, node_link_Bps(profile, fs.client_Bps));
    s4u::Disk* disk = host->create_disk("disk", read_bps, write_bps);
    disk->seal();
    host->seal();
    hosts.push_back(host);
    disks.push_back(disk);
  };
  p.head = attach("head", profile.link_bandwidth_Bps);
  for (int i = 0; i < nodes; ++i) node("node-" + std::to_string(i + 1), p.nodes, p.disks);
  for (int i = 0; i < spares; ++i) node("spare-" + std::to_string(i + 1), p.spares, p.spare_disks);
  p.head->seal();
  if (fs.total_Bps > 0) {
    p.storage = attach("storage", fs.total_Bps);
    p.storage->seal();
  }
  zone->seal();
  return p;
}

// node-2 before node-10.
bool natural_less(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

bool is_spare(const std::string& host_name) { return host_name.rfind("spare", 0) == 0; }

ClusterPlatform load_from_file(s4u::Engine& engine, const std::filesystem::path& file, int nodes, int spares,
                               const SharedStorageLinks& fs) {
  const bool shared_storage = fs.total_Bps > 0;
  if (fs.client_Bps > 0)
    throw SimError("platform " + file.string() +
                   ": --shared-client applies to the platform built in code; give the nodes' links that bandwidth in the file");
  try {
    engine.load_platform(file.string());
  } catch (const std::exception& e) {
    throw SimError("platform " + file.string() + ": " + e.what());
  }
  ClusterPlatform p;
  std::vector<s4u::Host*> others, spare_hosts;
  for (s4u::Host* h : engine.get_all_hosts()) {
    if (h->get_name() == "head")
      p.head = h;
    else if (h->get_name() == "storage")
      p.storage = h;
    else if (is_spare(h->get_name()))
      spare_hosts.push_back(h);
    else
      others.push_back(h);
  }
  const std::string where = "platform " + file.string() + ": ";
  if (!p.head) throw SimError(where + "no host named 'head' (the node that submits the jobs)");
  if (shared_storage && !p.storage)
    throw SimError(where + "no host named 'storage' (the shared file system --shared-storage writes to)");
  if (!shared_storage) p.storage = nullptr;
  if (static_cast<int>(others.size()) < nodes)
    throw SimError(where + "has " + std::to_string(others.size()) + " compute hosts, --nodes asks for " +
                   std::to_string(nodes));
  if (static_cast<int>(spare_hosts.size()) < spares)
    throw SimError(where + "has " + std::to_string(spare_hosts.size()) + " spare host(s) (named spare-*), --spares asks for " +
                   std::to_string(spares));
  auto take = [&](std::vector<s4u::Host*>& hosts, int count, std::vector<s4u::Host*>& into,
                  std::vector<s4u::Disk*>& disks_into) {
    std::sort(hosts.begin(), hosts.end(),
              [](const s4u::Host* a, const s4u::Host* b) { return natural_less(a->get_name(), b->get_name()); });
    hosts.resize(count);
    for (s4u::Host* h : hosts) {
      auto disks = h->get_disks();
      if (disks.empty()) throw SimError(where + "host '" + h->get_name() + "' has no disk for its checkpoints");
      into.push_back(h);
      disks_into.push_back(disks.front());
    }
  };
  take(others, nodes, p.nodes, p.disks);
  take(spare_hosts, spares, p.spares, p.spare_disks);
  return p;
}

}  // namespace

ClusterPlatform build_platform(s4u::Engine& engine, const models::Profile& profile, int nodes, int spares,
                               const std::filesystem::path& platform_file, const SharedStorageLinks& fs) {
  return platform_file.empty() ? build_in_code(profile, nodes, spares, fs)
                               : load_from_file(engine, platform_file, nodes, spares, fs);
}

}  // namespace ckptsim::sim
