// The lenient image reader every tool but the restore uses (ckpt/image_summary.h)
// and the format's names (ckpt/image_format.h): the version and checksum rules
// hold, and a damaged image says what is wrong in words.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ckpt/control.h"
#include "ckpt/image_format.h"
#include "ckpt/image_summary.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using namespace ckptsim;

namespace {

// A manifest as the library ends it: its own checksum last.
std::string sealed(nlohmann::json j) {
  std::string text = j.dump();
  text.pop_back();
  return ckpt::seal_manifest(std::move(text));
}

nlohmann::json full_manifest() {
  return {{"format", "ckptsim-image"},
          {"format_version", 2},
          {"seq", 7},
          {"stopped_ns", 250000000},
          {"core", {{"size", 123456}}},
          {"written", {{"incremental", false}, {"memory_bytes", 100000}, {"full_memory_bytes", 100000}}},
          {"program", {{"path", "/bin/true"}, {"argv", {"true", "x"}}}}};
}

fs::path image_with(const fs::path& dir, const std::string& manifest_text) {
  const fs::path image = dir / "ckpt-0007";
  fs::create_directories(image);
  std::ofstream(image / "manifest.json") << manifest_text;
  return image;
}

std::string refusal(const fs::path& image) {
  try {
    ckpt::read_image_summary(image);
  } catch (const ckpt::CkptError& e) {
    return e.what();
  }
  return "(read without complaint)";
}

}  // namespace

TEST_CASE("image summary: a sealed manifest reads back, and its checksum is the library's rule") {
  test::TempDir t;
  const ckpt::ImageSummary s = ckpt::read_image_summary(image_with(t.path(), sealed(full_manifest())));
  CHECK(s.version == 2);
  CHECK(s.seq == 7);
  CHECK(s.has_stopped);
  CHECK(s.stopped_ns == 250000000);
  CHECK(s.core_size == 123456);
  CHECK(s.has_written);
  CHECK(s.memory_bytes == 100000);
  CHECK(s.program_path == "/bin/true");
  CHECK(s.argv == std::vector<std::string>{"true", "x"});
  CHECK(ckpt::own_checksum_problem(sealed(full_manifest())).empty());
}

TEST_CASE("image summary: a changed, unversioned or foreign manifest is refused in words") {
  test::TempDir t;
  std::string text = sealed(full_manifest());
  text.replace(text.find("\"seq\":7"), 7, "\"seq\":8");
  CHECK_THAT(refusal(image_with(t.path() / "a", text)), Catch::Contains("checksum mismatch"));

  nlohmann::json j = full_manifest();
  j["format_version"] = "2";
  CHECK_THAT(refusal(image_with(t.path() / "b", sealed(j))),
             Catch::Contains("format_version is missing or not an unsigned integer"));
  j["format_version"] = 9;
  CHECK_THAT(refusal(image_with(t.path() / "c", sealed(j))), Catch::Contains("version 9 is not supported"));
  j = full_manifest();
  j["format"] = "something-else";
  CHECK_THAT(refusal(image_with(t.path() / "d", sealed(j))), Catch::Contains("not a ckptsim image"));
  CHECK_THAT(refusal(image_with(t.path() / "e", "{ not json")), Catch::Contains("not a JSON object"));

  fs::create_directories(t.path() / "f" / "ckpt-0007");
  CHECK(refusal(t.path() / "f" / "ckpt-0007") == "no manifest.json");
  const fs::path linked = t.path() / "g" / "ckpt-0007";
  fs::create_directories(linked);
  std::ofstream(t.path() / "g" / "real.json") << sealed(full_manifest());
  fs::create_symlink(t.path() / "g" / "real.json", linked / "manifest.json");
  CHECK_THAT(refusal(linked), Catch::Contains("not a regular file"));
}

TEST_CASE("image summary: version 1 has no checksum, and a dump account without its bytes is not one") {
  test::TempDir t;
  nlohmann::json j = full_manifest();
  j["format_version"] = 1;
  j["written"].erase("memory_bytes");
  j.erase("stopped_ns");
  const ckpt::ImageSummary s = ckpt::read_image_summary(image_with(t.path(), j.dump()));
  CHECK(s.version == 1);
  CHECK_FALSE(s.has_written);
  CHECK_FALSE(s.has_stopped);
}

TEST_CASE("image names: ckpt- and 1 to 18 digits, nothing else") {
  namespace f = image_format;
  CHECK(f::image_number("ckpt-0001", 9) == 1);
  CHECK(f::image_number("ckpt-123456789012345678", 23) == 123456789012345678ul);
  CHECK(f::image_number("ckpt-1234567890123456789", 24) == 0);
  for (const char* name : {"ckpt-", "ckpt-12a", "ckpt-0001-full", "latest", ".tmp-ckpt-0001-42", "Ckpt-0001"})
    CHECK(f::image_number(name, std::char_traits<char>::length(name)) == 0);
  CHECK(ckpt::image_number("ckpt-0042") == 42);
}
