#include "ckpt/image_summary.h"

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "ckpt/control.h"
#include "ckpt/image_format.h"
#include "status.h"
#include "util/hex.h"

namespace ckptsim::ckpt {
namespace fs = std::filesystem;
namespace fmt = image_format;
namespace {

constexpr size_t kMaxManifestBytes = 64u << 20;
const std::string kChecksumKey = std::string(",\"") + fmt::key::kOwnChecksum + "\":\"";

// Lenient: a field of another type reads as absent (nlohmann's value() would throw).
uint64_t unsigned_or_zero(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
std::string string_or_empty(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool true_or_false(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

std::string own_checksum_problem(const std::string& text) {
  const size_t at = text.rfind(kChecksumKey);
  if (at == std::string::npos) return std::string("no ") + fmt::key::kOwnChecksum + " (its own checksum)";
  const size_t hex_at = at + kChecksumKey.size();
  if (text.size() < hex_at + 16 || text.compare(hex_at + 16, std::string::npos, "\"}\n") != 0)
    return std::string(fmt::key::kOwnChecksum) + " is not its last field";
  if (util::xxh3_hex(text.data(), at) != text.substr(hex_at, 16)) return "checksum mismatch (the manifest was changed)";
  return "";
}

std::string seal_manifest(std::string open_object) {
  const std::string hash = util::xxh3_hex(open_object.data(), open_object.size());
  return open_object + kChecksumKey + hash + "\"}\n";
}

ImageSummary read_image_summary(const fs::path& image) {
  const auto bad = [&](const std::string& why) -> CkptError { return CkptError(std::string(fmt::kManifest) + ": " + why); };
  // Opened once, without following links, and checked on that descriptor.
  int why = 0;
  const std::string text =
      read_image_file(image.parent_path(), image.filename().string(), fmt::kManifest, kMaxManifestBytes, &why);
  if (why == ENOENT) throw CkptError(std::string("no ") + fmt::kManifest);
  if (why == ELOOP || why == EINVAL) throw bad("not a regular file");
  if (why == EFBIG) throw bad("larger than 64 MiB");
  if (why) throw bad(std::strerror(why));
  if (text.empty()) throw bad("empty");
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad("not a JSON object");
  if (string_or_empty(j, fmt::key::kFormat) != fmt::kFormatName)
    throw bad(std::string("not a ckptsim image (format is not \"") + fmt::kFormatName + "\")");
  ImageSummary s;
  const auto v = j.find(fmt::key::kFormatVersion);
  if (v == j.end() || !v->is_number_unsigned())
    throw bad(std::string("field ") + fmt::key::kFormatVersion + " is missing or not an unsigned integer");
  const uint64_t version = v->get<uint64_t>();
  if (!fmt::is_supported_version(static_cast<long>(std::min<uint64_t>(version, 1000))))
    throw bad("image format version " + std::to_string(version) + " is not supported (versions " +
              std::to_string(fmt::kOldestVersion) + " to " + std::to_string(fmt::kNewestVersion) + " are)");
  s.version = static_cast<int>(version);
  if (s.version >= fmt::kFullVersion)
    if (std::string why = own_checksum_problem(text); !why.empty()) throw bad(why);
  s.seq = unsigned_or_zero(j, fmt::key::kSeq);
  if (auto st = j.find(fmt::key::kStoppedNs); st != j.end() && st->is_number_unsigned()) {
    s.has_stopped = true;
    s.stopped_ns = st->get<uint64_t>();
  }
  if (auto core = j.find(fmt::key::kCore); core != j.end() && core->is_object())
    s.core_size = unsigned_or_zero(*core, fmt::key::kCoreSize);
  if (auto w = j.find(fmt::key::kWritten); w != j.end() && w->is_object() && w->contains(fmt::key::kMemoryBytes) &&
                                                (*w)[fmt::key::kMemoryBytes].is_number_unsigned()) {
    s.has_written = true;
    s.incremental = true_or_false(*w, fmt::key::kWrittenIncremental);
    s.memory_bytes = unsigned_or_zero(*w, fmt::key::kMemoryBytes);
    s.full_memory_bytes = unsigned_or_zero(*w, fmt::key::kFullMemoryBytes);
  }
  if (auto p = j.find(fmt::key::kParent); p != j.end() && p->is_object()) {
    s.parent = string_or_empty(*p, fmt::key::kParentImage);
    s.chain = static_cast<int>(unsigned_or_zero(*p, fmt::key::kParentChain));
  }
  if (auto prog = j.find(fmt::key::kProgram); prog != j.end() && prog->is_object()) {
    s.program_path = string_or_empty(*prog, fmt::key::kProgramPath);
    if (auto argv = prog->find(fmt::key::kProgramArgv); argv != prog->end() && argv->is_array())
      for (const auto& a : *argv)
        if (a.is_string()) s.argv.push_back(a.get<std::string>());
  }
  return s;
}

}  // namespace ckptsim::ckpt
