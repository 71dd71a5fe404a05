// Profile <-> JSON ("ckptsim-profile", schema_version 1), with validation that
// names the offending field in one line.
#include <cmath>
#include <fstream>
#include <sstream>

#include "models/profile.h"

namespace ckptsim::models {
namespace {

using nlohmann::json;

constexpr const char* kSchema = "ckptsim-profile";
constexpr int kSchemaVersion = 1;

// The curves a profile must carry, in file order.
struct CurveField {
  const char* name;
  Curve Profile::*member;
};
constexpr CurveField kCurves[] = {
    {"compute_s", &Profile::compute_s},     {"process_bytes", &Profile::process_bytes},
    {"image_bytes", &Profile::image_bytes}, {"dump_s", &Profile::dump_s},
    {"copy_s", &Profile::copy_s},           {"restore_s", &Profile::restore_s},
};

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw ProfileError("profile: " + field + ": " + what);
}

const json& member(const json& j, const std::string& key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) bad(where.empty() ? key : where + "." + key, "missing");
  return *it;
}

double number(const json& j, const std::string& field, bool non_negative) {
  if (!j.is_number()) bad(field, "expected a number");
  const double v = j.get<double>();
  if (!std::isfinite(v)) bad(field, "not finite");
  if (non_negative && v < 0) bad(field, "must not be negative (got " + std::to_string(v) + ")");
  return v;
}

double optional_number(const json& obj, const std::string& key, const std::string& field,
                       double fallback) {
  auto it = obj.find(key);
  return it == obj.end() ? fallback : number(*it, field, true);
}

std::string optional_string(const json& obj, const std::string& key, const std::string& field) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (!it->is_string()) bad(field, "expected a string");
  return it->get<std::string>();
}

json curve_to_json(const Curve& c) {
  return {{"powers", c.powers}, {"coef", c.coef}, {"x_unit", c.x_unit},
          {"y_unit", c.y_unit}, {"r2", c.r2},     {"why", c.why}};
}

Curve curve_from_json(const json& j, const std::string& field, int min_power = 0) {
  if (!j.is_object()) bad(field, "expected an object with powers and coef");
  Curve c;
  const json& powers = member(j, "powers", field);
  const json& coef = member(j, "coef", field);
  if (!powers.is_array() || powers.empty()) bad(field + ".powers", "expected a non-empty array");
  if (!coef.is_array()) bad(field + ".coef", "expected an array of numbers");
  if (coef.size() != powers.size())
    bad(field + ".coef", "has " + std::to_string(coef.size()) + " entries for " +
                             std::to_string(powers.size()) + " powers");
  for (const auto& p : powers) {
    // Negative powers only where x is never 0: the dirty rate against the order (a + b/n).
    if (!p.is_number_integer() || p.get<int>() < min_power || p.get<int>() > 6)
      bad(field + ".powers", "expected integers between " + std::to_string(min_power) + " and 6");
    c.powers.push_back(p.get<int>());
  }
  for (const auto& v : coef) c.coef.push_back(number(v, field + ".coef", false));
  c.x_unit = optional_string(j, "x_unit", field + ".x_unit");
  c.y_unit = optional_string(j, "y_unit", field + ".y_unit");
  c.why = optional_string(j, "why", field + ".why");
  if (auto it = j.find("r2"); it != j.end()) c.r2 = number(*it, field + ".r2", false);
  return c;
}

json memory_to_json(const Memory& m) {
  return {{"ram_bytes", m.ram_bytes},           {"swap_bytes", m.swap_bytes}, {"reserved_bytes", m.reserved_bytes},
          {"swap_Bps", m.swap_Bps},             {"why", m.why}};
}

Memory memory_from_json(const json& j) {
  if (!j.is_object()) bad("memory", "expected an object");
  Memory m;
  m.ram_bytes = number(member(j, "ram_bytes", "memory"), "memory.ram_bytes", true);
  if (!(m.ram_bytes > 0)) bad("memory.ram_bytes", "must be positive (leave \"memory\" out when it is not known)");
  m.swap_bytes = optional_number(j, "swap_bytes", "memory.swap_bytes", 0);
  m.reserved_bytes = optional_number(j, "reserved_bytes", "memory.reserved_bytes", 0);
  if (!(m.reserved_bytes < m.ram_bytes)) bad("memory.reserved_bytes", "must be below memory.ram_bytes");
  m.swap_Bps = optional_number(j, "swap_Bps", "memory.swap_Bps", 0);
  m.why = optional_string(j, "why", "memory.why");
  return m;
}

json incremental_cost_to_json(const IncrementalCost& c) {
  return {{"fixed_s", c.fixed_s},
          {"s_per_written_byte", c.s_per_written_byte},
          {"s_per_process_byte", c.s_per_process_byte},
          {"r2", c.r2}};
}

// `where` names the object in error messages ("incremental", "incremental.forked.stop").
IncrementalCost incremental_cost_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "expected an object");
  IncrementalCost c;
  c.fixed_s = number(member(j, "fixed_s", where), where + ".fixed_s", true);
  c.s_per_written_byte = number(member(j, "s_per_written_byte", where), where + ".s_per_written_byte", true);
  c.s_per_process_byte = number(member(j, "s_per_process_byte", where), where + ".s_per_process_byte", true);
  c.r2 = optional_number(j, "r2", where + ".r2", 0);
  return c;
}

json incremental_to_json(const Incremental& i) {
  // The in-process cost's keys sit in "incremental" itself, as in every
  // profile written before forked incremental dumps were measured.
  json j = incremental_cost_to_json(i.stop);
  j["dirty_Bps"] = curve_to_json(i.dirty_Bps);
  j["max_chain"] = i.max_chain;
  j["why"] = i.why;
  if (i.forked.known())
    j["forked"] = {{"stop", incremental_cost_to_json(i.forked.stop)},
                   {"write", incremental_cost_to_json(i.forked.write)},
                   {"dumps", i.forked.dumps},
                   {"why", i.forked.why}};
  return j;
}

ForkedIncremental forked_incremental_from_json(const json& j) {
  if (!j.is_object()) bad("incremental.forked", "expected an object with stop, write and dumps");
  ForkedIncremental f;
  f.stop = incremental_cost_from_json(member(j, "stop", "incremental.forked"), "incremental.forked.stop");
  f.write = incremental_cost_from_json(member(j, "write", "incremental.forked"), "incremental.forked.write");
  const double dumps = number(member(j, "dumps", "incremental.forked"), "incremental.forked.dumps", true);
  if (!(dumps >= 1 && dumps <= 1e9) || dumps != std::floor(dumps))
    bad("incremental.forked.dumps", "must be a whole number of at least 1");
  f.dumps = static_cast<int>(dumps);
  f.why = optional_string(j, "why", "incremental.forked.why");
  return f;
}

Incremental incremental_from_json(const json& j) {
  if (!j.is_object()) bad("incremental", "expected an object");
  Incremental i;
  i.dirty_Bps = curve_from_json(member(j, "dirty_Bps", "incremental"), "incremental.dirty_Bps", -3);
  if (i.dirty_Bps.coef.empty()) bad("incremental.dirty_Bps", "has no coefficients");
  i.stop = incremental_cost_from_json(j, "incremental");
  const double chain = optional_number(j, "max_chain", "incremental.max_chain", 8);
  if (!(chain >= 1 && chain <= 1000000) || chain != std::floor(chain))
    bad("incremental.max_chain", "must be a whole number from 1 to 1000000");
  i.max_chain = static_cast<int>(chain);
  i.why = optional_string(j, "why", "incremental.why");
  if (j.contains("forked")) i.forked = forked_incremental_from_json(j.at("forked"));
  return i;
}

json forked_to_json(const Forked& f) {
  return {{"stop_s", curve_to_json(f.stop_s)}, {"write_s", curve_to_json(f.write_s)}, {"why", f.why}};
}

Forked forked_from_json(const json& j) {
  if (!j.is_object()) bad("forked", "expected an object with stop_s and write_s");
  Forked f;
  f.stop_s = curve_from_json(member(j, "stop_s", "forked"), "forked.stop_s");
  f.write_s = curve_from_json(member(j, "write_s", "forked"), "forked.write_s");
  // A cost that is negative or not finite anywhere on the curve's own range is
  // a broken measurement; 0 bytes is the least any job has.
  if (!(f.stop_s(0) >= 0) || !std::isfinite(f.stop_s(0))) bad("forked.stop_s", "is negative at 0 bytes");
  if (!(f.write_s(0) >= 0) || !std::isfinite(f.write_s(0))) bad("forked.write_s", "is negative at 0 bytes");
  f.why = optional_string(j, "why", "forked.why");
  return f;
}

json shared_storage_to_json(const SharedStorage& s) {
  return {{"write_Bps", s.write_Bps},
          {"read_Bps", s.read_Bps},
          {"client_write_Bps", s.client_write_Bps},
          {"writers", s.writers},
          {"fs", s.fs}};
}

SharedStorage shared_storage_from_json(const json& j) {
  if (!j.is_object()) bad("shared_storage", "expected an object");
  SharedStorage s;
  s.write_Bps = number(member(j, "write_Bps", "shared_storage"), "shared_storage.write_Bps", true);
  if (!(s.write_Bps > 0)) bad("shared_storage.write_Bps", "must be positive");
  s.read_Bps = optional_number(j, "read_Bps", "shared_storage.read_Bps", 0);
  s.client_write_Bps = optional_number(j, "client_write_Bps", "shared_storage.client_write_Bps", 0);
  if (s.client_write_Bps > s.write_Bps * 1.5)
    bad("shared_storage.client_write_Bps", "is far above the total write rate");
  const double writers = optional_number(j, "writers", "shared_storage.writers", 1);
  if (!(writers >= 1 && writers <= 4096) || writers != std::floor(writers))
    bad("shared_storage.writers", "must be a whole number from 1 to 4096");
  s.writers = static_cast<int>(writers);
  s.fs = optional_string(j, "fs", "shared_storage.fs");
  return s;
}

json scheduler_to_json(const Scheduler& s) {
  json j = json::object();
  if (s.requeue_delay_s) j["requeue_delay_s"] = *s.requeue_delay_s;
  if (!s.why.empty()) j["why"] = s.why;
  return j;
}

Scheduler scheduler_from_json(const json& j) {
  if (!j.is_object()) bad("scheduler", "expected an object");
  Scheduler s;
  if (auto it = j.find("requeue_delay_s"); it != j.end())
    s.requeue_delay_s = number(*it, "scheduler.requeue_delay_s", true);
  s.why = optional_string(j, "why", "scheduler.why");
  return s;
}

}  // namespace

json to_json(const Profile& p) {
  json curves = json::object();
  for (const auto& f : kCurves) curves[f.name] = curve_to_json(p.*(f.member));
  json j = {
      {"schema", kSchema},
      {"schema_version", kSchemaVersion},
      {"name", p.name},
      {"source", p.source},
      {"machine", p.machine.is_null() ? json::object() : p.machine},
      {"assumptions", p.assumptions},
      {"curves", curves},
      {"link", {{"bandwidth_Bps", p.link_bandwidth_Bps}, {"latency_s", p.link_latency_s}}},
      {"disk", {{"write_Bps", p.disk_write_Bps}, {"read_Bps", p.disk_read_Bps}}},
      {"reboot_s", p.reboot_s},
      {"measurements", p.measurements},
  };
  // Only a known memory is written: profiles without one read and write as before.
  if (p.memory.known()) j["memory"] = memory_to_json(p.memory);
  if (p.incremental.known()) j["incremental"] = incremental_to_json(p.incremental);
  // Likewise the forked dumps: profiles measured before them read and write as before.
  if (p.forked.known()) j["forked"] = forked_to_json(p.forked);
  if (p.shared_storage.known()) j["shared_storage"] = shared_storage_to_json(p.shared_storage);
  // Likewise the scheduler: written only when the profile has one.
  if (p.scheduler.known()) j["scheduler"] = scheduler_to_json(p.scheduler);
  return j;
}

Profile profile_from_json(const json& j) {
  if (!j.is_object()) throw ProfileError("profile: expected a JSON object");
  const json& schema = member(j, "schema", "");
  if (!schema.is_string() || schema.get<std::string>() != kSchema)
    bad("schema", std::string("expected \"") + kSchema + "\"");
  const json& version = member(j, "schema_version", "");
  if (!version.is_number_integer() || version.get<int>() != kSchemaVersion)
    bad("schema_version", "unsupported (this build reads version " +
                              std::to_string(kSchemaVersion) + ")");
  Profile p;
  p.name = optional_string(j, "name", "name");
  p.source = optional_string(j, "source", "source");
  if (auto it = j.find("machine"); it != j.end()) {
    if (!it->is_object()) bad("machine", "expected an object");
    p.machine = *it;
  }
  if (auto it = j.find("assumptions"); it != j.end()) {
    if (!it->is_array()) bad("assumptions", "expected an array of strings");
    for (const auto& a : *it) {
      if (!a.is_string()) bad("assumptions", "expected an array of strings");
      p.assumptions.push_back(a.get<std::string>());
    }
  }
  const json& curves = member(j, "curves", "");
  if (!curves.is_object()) bad("curves", "expected an object");
  for (const auto& f : kCurves)
    p.*(f.member) = curve_from_json(member(curves, f.name, "curves"), std::string("curves.") + f.name);

  const json& link = member(j, "link", "");
  if (!link.is_object()) bad("link", "expected an object");
  p.link_bandwidth_Bps = number(member(link, "bandwidth_Bps", "link"), "link.bandwidth_Bps", true);
  if (p.link_bandwidth_Bps <= 0) bad("link.bandwidth_Bps", "must be positive");
  p.link_latency_s = optional_number(link, "latency_s", "link.latency_s", p.link_latency_s);
  if (auto it = j.find("disk"); it != j.end()) {
    if (!it->is_object()) bad("disk", "expected an object");
    p.disk_write_Bps = optional_number(*it, "write_Bps", "disk.write_Bps", 0);
    p.disk_read_Bps = optional_number(*it, "read_Bps", "disk.read_Bps", 0);
  }
  p.reboot_s = optional_number(j, "reboot_s", "reboot_s", 0);
  if (auto it = j.find("memory"); it != j.end()) p.memory = memory_from_json(*it);
  if (auto it = j.find("incremental"); it != j.end()) p.incremental = incremental_from_json(*it);
  if (auto it = j.find("forked"); it != j.end()) p.forked = forked_from_json(*it);
  if (auto it = j.find("shared_storage"); it != j.end()) p.shared_storage = shared_storage_from_json(*it);
  if (auto it = j.find("scheduler"); it != j.end()) p.scheduler = scheduler_from_json(*it);
  if (auto it = j.find("measurements"); it != j.end()) {
    if (!it->is_array()) bad("measurements", "expected an array");
    p.measurements = *it;
  }
  return p;
}

Profile load_profile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ProfileError("profile " + path.string() + ": cannot be read");
  json j;
  try {
    in >> j;
  } catch (const json::exception& e) {
    // nlohmann's messages are one line; keep only the part after "parse error".
    throw ProfileError("profile " + path.string() + ": not valid JSON (" + e.what() + ")");
  }
  try {
    return profile_from_json(j);
  } catch (const ProfileError& e) {
    std::string what = e.what();
    const std::string prefix = "profile: ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    throw ProfileError("profile " + path.string() + ": " + what);
  }
}

void save_profile(const Profile& p, const std::filesystem::path& path) {
  // Written to a temporary name and renamed, so a reader never sees half a file.
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) throw ProfileError("profile " + path.string() + ": cannot be written");
    out << to_json(p).dump(2) << "\n";
    if (!out) throw ProfileError("profile " + path.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw ProfileError("profile " + path.string() + ": " + ec.message());
}

}  // namespace ckptsim::models
