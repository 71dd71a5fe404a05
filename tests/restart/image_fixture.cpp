#include "image_fixture.h"

#include <catch2/catch.hpp>

#include <elf.h>

#include <algorithm>
#include <fstream>

namespace restart_test {

using nlohmann::json;

const char *kKilledRunMark = "WRITTEN AFTER THE CHECKPOINT\n";

// An image of prog_stdio (run from a private copy of the executable) at its
// gate, killed; lines.txt then gets a line the restore would undo.
Fixture::Fixture() {
  fs::create_directories(dir / "bin");
  fs::create_directories(dir / "run");
  exe = dir / "bin" / "prog_stdio";
  fs::copy_file(prog("prog_stdio"), exe);
  fs::permissions(exe, fs::perms::owner_all);
  Redirect io;
  io.out = (dir / "run" / "stdout.txt").string();
  Job job = start_job(dir / "img",
                      {exe.string(), (dir / "marker").string(),
                       (dir / "go").string(), "lines.txt"},
                      dir / "run", io);
  REQUIRE(eventually([&] { return fs::exists(dir / "marker"); }));
  REQUIRE(checkpoint(job.pid));
  kill_job(job);
  image = dir / "img" / "ckpt-0001";
  append_file(dir / "run" / "lines.txt", kKilledRunMark);
  write_file(dir / "go", "");
}
json Fixture::manifest() const {
  return json::parse(read_file(image / "manifest.json"));
}
void Fixture::set_manifest(json j) const {
  j.erase("manifest_xxh3");
  write_signed_manifest(image, j.dump());
}
void Fixture::flip_byte(const fs::path &p, uint64_t offset) const {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x20);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}
uint64_t Fixture::middle_of_largest_segment() const {
  const json m = manifest();
  uint64_t best = 0, size = 0;
  for (const auto &map : m["mappings"])
    if (map["dumped"].get<bool>() &&
        map["end"].get<uint64_t>() - map["start"].get<uint64_t>() > size) {
      size = map["end"].get<uint64_t>() - map["start"].get<uint64_t>();
      best = map["phdr"].get<uint64_t>();
    }
  std::ifstream core(image / "core", std::ios::binary);
  Elf64_Ehdr eh;
  core.read(reinterpret_cast<char *>(&eh), sizeof eh);
  Elf64_Phdr ph;
  core.seekg(static_cast<std::streamoff>(eh.e_phoff + best * sizeof ph));
  core.read(reinterpret_cast<char *>(&ph), sizeof ph);
  return ph.p_offset + size / 2;
}

// The restart must fail with `status`, one line naming the problem, nothing
// left running, the image as it was and the job's files not restored.
void expect_refused(const Fixture &fx, const std::string &needle, int status) {
  const auto before = fingerprint(fx.image);
  RestartResult r = restart({fx.image.string()}, fx.dir / "run");
  INFO("stderr: " << r.stderr_text);
  CHECK(r.status == status);
  CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  CHECK(r.stderr_text.find(needle) != std::string::npos);
  CHECK(processes_running(fx.exe.string()).empty());
  CHECK(fingerprint(fx.image) == before);
  if (status == 2)
    CHECK(file_contains(fx.dir / "run" / "lines.txt", kKilledRunMark));
}

} // namespace restart_test
