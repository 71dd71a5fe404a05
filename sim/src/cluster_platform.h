// The paper's cluster as a SimGrid platform: a head node, N compute nodes and
// K spare nodes (case V's spare placement), each node with a disk, on a Gigabit
// Ethernet star. Built in code from the profile, or taken from a platform XML
// file (spares are its hosts named spare-*, the compute nodes the others).
#pragma once
#include <filesystem>
#include <vector>

#include <simgrid/s4u.hpp>

#include "models/profile.h"

namespace ckptsim::sim {

struct ClusterPlatform {
  simgrid::s4u::Host* head = nullptr;
  std::vector<simgrid::s4u::Host*> nodes;  // the compute nodes, in round-robin order
  std::vector<simgrid::s4u::Disk*> disks;  // disks[i] belongs to nodes[i]
  std::vector<simgrid::s4u::Host*> spares;  // only receive migrated jobs
  std::vector<simgrid::s4u::Disk*> spare_disks;
  // Shared storage only: the file system, one host behind a link of the
  // file system's total bandwidth, reached by every node over its own link.
  simgrid::s4u::Host* storage = nullptr;
};

// A node disk's rate for images: the profile's measured one, else the
// inverse of its dump (write) or restore cost per byte.
double image_disk_Bps(const models::Profile& profile, bool write);

// A node's link: the profile's, held to client_Bps when that is > 0 (with
// shared storage a node's link carries only its own images: the per-client limit).
double node_link_Bps(const models::Profile& profile, double client_Bps);

// Shared storage's links (both 0: each node's own disk, no storage host).
struct SharedStorageLinks {
  double total_Bps = 0;   // the file system's link
  double client_Bps = 0;  // > 0: each node's link at most this
};

// Must be called once, in the process's only Engine, before Engine::run().
// Throws SimError when the file lacks a "head" host, has fewer than `nodes`
// compute hosts or `spares` spare-* hosts, or a node without a disk; with
// shared storage, when it lacks a host named "storage" (the file system).
ClusterPlatform build_platform(simgrid::s4u::Engine& engine, const models::Profile& profile, int nodes, int spares,
                               const std::filesystem::path& platform_file, const SharedStorageLinks& fs = {});

}  // namespace ckptsim::sim
