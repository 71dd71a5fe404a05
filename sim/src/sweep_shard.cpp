// Shard files and merging them back into the unsplit result. A shard carries the
// whole plan, so the merge needs nothing but the files.
#include <set>
#include <string>

#include "sim/sweep.h"

namespace ckptsim::sim {

namespace {

constexpr const char* kShardFormat = "ckptsim-sweep-shard";
constexpr int kShardVersion = 1;

std::string spec_text(int k, int n) { return std::to_string(k) + "/" + std::to_string(n); }

}  // namespace

nlohmann::json shard_to_json(const SweepResult& r, const ShardSpec& shard) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& [index, pr] : r.results)
    results.push_back({{"index", index}, {"mean_turnaround_s", pr.mean_turnaround_s}, {"ci95_s", pr.ci95_s}});
  return {{"format", kShardFormat},
          {"format_version", kShardVersion},
          {"sweep", r.plan.hash},
          {"shard", {{"k", shard.k}, {"n", shard.n}}},
          {"complete", !r.partial},
          {"plan", to_json(r.plan)},
          {"results", results}};
}

SweepResult merge_shards(const std::vector<std::pair<std::string, nlohmann::json>>& files) {
  if (files.empty()) throw SweepError("--merge needs at least one shard file");
  SweepResult merged;
  std::string first_name, hash;
  int n = 0;
  std::map<int, std::string> seen;  // k -> file
  for (const auto& [name, j] : files) {
    try {
      if (!j.is_object() || j.value("format", "") != kShardFormat)
        throw SweepError(name + " is not a sweep shard file");
      if (j.at("format_version").get<int>() != kShardVersion)
        throw SweepError(name + ": unsupported shard format version " + j.at("format_version").dump());
      const std::string h = j.at("sweep").get<std::string>();
      const int k = j.at("shard").at("k").get<int>(), kn = j.at("shard").at("n").get<int>();
      if (kn < 1 || k < 1 || k > kn) throw SweepError(name + ": bad shard number " + spec_text(k, kn));
      if (first_name.empty()) {
        first_name = name;
        hash = h;
        n = kn;
        merged.plan = plan_from_json(j.at("plan"));
        if (merged.plan.hash != hash) throw SweepError(name + ": the plan does not match the sweep hash");
      } else if (h != hash) {
        throw SweepError(name + " is a shard of a different sweep (" + h + ", not " + hash + " like " + first_name + ")");
      } else if (kn != n) {
        throw SweepError(name + " is shard " + spec_text(k, kn) + " but " + first_name + " is one of " +
                         std::to_string(n) + " shards");
      }
      if (auto it = seen.find(k); it != seen.end())
        throw SweepError("shard " + spec_text(k, n) + " given twice (" + it->second + " and " + name + ")");
      seen[k] = name;
      if (!j.at("complete").get<bool>())
        throw SweepError(name + ": shard " + spec_text(k, n) + " was interrupted; run it again");
      const auto wanted = shard_indices(merged.plan, ShardSpec{k, n});
      std::set<int> got;
      for (const auto& rj : j.at("results")) {
        PointResult pr{rj.at("index").get<int>(), rj.at("mean_turnaround_s").get<double>(), rj.at("ci95_s").get<double>()};
        got.insert(pr.index);
        merged.results[pr.index] = pr;
      }
      if (got != std::set<int>(wanted.begin(), wanted.end()))
        throw SweepError(name + ": its results are not the points of shard " + spec_text(k, n));
    } catch (const nlohmann::json::exception& e) {
      throw SweepError(name + ": malformed shard file (" + e.what() + ")");
    }
  }
  std::string missing;
  for (int k = 1; k <= n; ++k)
    if (!seen.count(k)) missing += (missing.empty() ? "" : ", ") + spec_text(k, n);
  if (!missing.empty()) throw SweepError("missing shard(s) " + missing);
  return merged;
}

}  // namespace ckptsim::sim
