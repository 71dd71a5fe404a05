#include "calib/shared_storage.h"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "calib/calibrate.h"
#include "calib/probes.h"
#include "calib/report.h"

namespace ckptsim::calib {

void check_shared_probe(const SharedProbe& probe) {
  std::error_code ec;
  if (!std::filesystem::is_directory(probe.dir, ec))
    throw OptionsError("--shared-dir " + probe.dir.string() + " is not an existing directory");
  if (::access(probe.dir.c_str(), W_OK | X_OK) != 0)
    throw OptionsError("--shared-dir " + probe.dir.string() + " is not writable by this user");
  if (probe.writers < 1 || probe.writers > 64) throw OptionsError("--shared-writers must be from 1 to 64");
  if (probe.bytes < (4ull << 20) * static_cast<uint64_t>(probe.writers))
    throw OptionsError("the shared probe needs at least 4 MiB per writer");
}

models::SharedStorage measure_shared_storage(const SharedProbe& probe) {
  check_shared_probe(probe);
  const SharedRates r = probe_shared_dir(probe.dir, probe.bytes, probe.writers);
  models::SharedStorage s;
  s.write_Bps = r.write_Bps;
  s.read_Bps = r.read_Bps;
  s.client_write_Bps = r.client_write_Bps;
  s.writers = probe.writers;
  s.fs = fs_type(probe.dir);
  return s;
}

// The profile file as it is, "fits" and "compute_runs" included (models::to_json
// would drop what calibrate adds beside the profile), with shared_storage set.
models::SharedStorage add_shared_storage(const std::filesystem::path& profile, const SharedProbe& probe,
                                         const std::filesystem::path& out) {
  models::Profile p = models::load_profile(profile);
  check_shared_probe(probe);
  if (out != profile) check_output_path(out);
  std::ifstream in(profile);
  nlohmann::json j = nlohmann::json::parse(in);
  p.shared_storage = measure_shared_storage(probe);
  j["shared_storage"] = models::to_json(p)["shared_storage"];
  const std::filesystem::path tmp = out.string() + ".tmp";
  {
    std::ofstream o(tmp);
    o << j.dump(2) << "\n";
    if (!o.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, out);
  models::load_profile(out);  // what we wrote must validate
  return p.shared_storage;
}

}  // namespace ckptsim::calib
