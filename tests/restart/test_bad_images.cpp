// Bad input: every corruption is caught before anything runs (one line on
// stderr, exit 2, no process left, image untouched, files not restored); a
// restore that fails half-way kills its child and says why.
#include <catch2/catch.hpp>

#include <elf.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "image_fixture.h"

using namespace restart_test;
using nlohmann::json;

TEST_CASE("the fixture image itself restores (so the refusals below are meaningful)") {
  Fixture fx;
  RestartResult r = restart({fx.image.string()}, fx.dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 0);
  CHECK(!file_contains(fx.dir / "run" / "lines.txt", kKilledRunMark));
}

TEST_CASE("bad image: truncated core") {
  Fixture fx;
  fs::resize_file(fx.image / "core", fs::file_size(fx.image / "core") - 4096);
  expect_refused(fx, "truncated");
}

TEST_CASE("bad image: a flipped byte in a memory segment") {
  Fixture fx;
  fx.flip_byte(fx.image / "core", fx.middle_of_largest_segment());
  expect_refused(fx, "checksum mismatch");
}

TEST_CASE("bad image: quick verification still checks the core header") {
  Fixture fx;
  fx.flip_byte(fx.image / "core", 0x50);  // inside the program headers
  const auto before = fingerprint(fx.image);
  RestartResult r = restart({fx.image.string(), "--verify", "quick"}, fx.dir / "run");
  INFO(r.stderr_text);
  CHECK(r.status == 2);
  CHECK(r.stderr_text.find("header") != std::string::npos);
  CHECK(fingerprint(fx.image) == before);
}

TEST_CASE("bad image: a flipped byte in a file copy") {
  Fixture fx;
  fx.flip_byte(fx.image / "files" / "fd-1", 10);
  expect_refused(fx, "corrupt");
}

TEST_CASE("bad image: a missing file") {
  Fixture fx;
  fs::remove(fx.image / "files" / "fd-1");
  expect_refused(fx, "missing");
}

TEST_CASE("bad image: another format version") {
  Fixture fx;
  json m = fx.manifest();
  m["format_version"] = 4;
  fx.set_manifest(m);
  expect_refused(fx, "version 4");
}

TEST_CASE("bad image: an incremental image (version 3) without its parent field") {
  Fixture fx;
  json m = fx.manifest();
  m["format_version"] = 3;
  fx.set_manifest(m);
  expect_refused(fx, "missing field parent");
}

TEST_CASE("bad image: the fixture's manifest records its process links and no children") {
  Fixture fx;
  const json p = fx.manifest().at("process");
  CHECK(p.at("children") == json::array());
  CHECK(p.at("ppid").get<int>() > 0);
  // A group or session led from outside the pid namespace (a CI container)
  // reads as 0; anything else is a real id.
  CHECK(p.at("pgid").get<int>() >= 0);
  CHECK(p.at("sid").get<int>() >= 0);
}

TEST_CASE("bad image: an image that records children it does not hold is refused naming them") {
  Fixture fx;
  json m = fx.manifest();
  m["process"]["children"] = json::array({4242, 4243});
  fx.set_manifest(m);
  expect_refused(fx, "the image records 2 child processes (4242, 4243) that it does not hold");
}

TEST_CASE("bad image: taken on another kernel release") {
  Fixture fx;
  json m = fx.manifest();
  m["kernel_release"] = "5.10.0-other";
  fx.set_manifest(m);
  expect_refused(fx, "kernel 5.10.0-other");
}

TEST_CASE("bad image: the executable changed since the checkpoint") {
  Fixture fx;
  append_file(fx.exe, "x");
  expect_refused(fx, "changed");
}

TEST_CASE("bad image: an image directory writable by others") {
  Fixture fx;
  fs::permissions(fx.image, fs::perms::others_write, fs::perm_options::add);
  expect_refused(fx, "writable by group or others");
  fs::permissions(fx.image, fs::perms::others_write, fs::perm_options::remove);
  fs::permissions(fx.image.parent_path(), fs::perms::group_write, fs::perm_options::add);
  expect_refused(fx, "writable by group or others");
}

namespace {

// The fixture's manifest with extra fd entries (kernel objects), which must be
// refused as image errors before anything runs.
void expect_objects_refused(const std::vector<json>& extra, const std::string& needle) {
  Fixture fx;
  json m = fx.manifest();
  for (const auto& fd : extra) m["fds"].push_back(fd);
  fx.set_manifest(m);
  expect_refused(fx, needle);
}

json anon_fd(int fd, const std::string& name, const json& object) {
  return {{"fd", fd}, {"kind", "other"}, {"path", "anon_inode:[" + name + "]"}, {"flags", 2}, {"cloexec", false},
          {"offset", 0}, {"object", object}};
}

}  // namespace

TEST_CASE("bad image: an unknown kind of kernel object") {
  expect_objects_refused({anon_fd(9, "sparkle", {{"type", "sparkle"}})}, "unknown object type \"sparkle\"");
}

TEST_CASE("bad image: an epoll instance watching a descriptor that is not open") {
  expect_objects_refused({anon_fd(9, "eventpoll", {{"type", "epoll"}, {"items", {{{"fd", 77}, {"events", 1}, {"data", 5}}}}})},
                         "watches fd 77, which is not open");
}

TEST_CASE("bad image: a description shared with a descriptor that is not there") {
  expect_objects_refused({anon_fd(9, "eventfd", {{"type", "eventfd"}, {"dup_of", 5}})}, "dup_of 5");
}

TEST_CASE("bad image: an eventfd without its counter") {
  expect_objects_refused({anon_fd(9, "eventfd", {{"type", "eventfd"}, {"semaphore", false}})}, "missing count");
}

TEST_CASE("bad image: a pipe whose queued bytes are missing from the image") {
  json data = {{"file", "files/obj-9"}, {"size", 3}, {"xxh3", "0123456789abcdef"}};
  json reader = {{"fd", 9}, {"kind", "pipe"}, {"path", "pipe:[1]"}, {"flags", 0}, {"offset", 0},
                 {"object", {{"type", "pipe"}, {"id", 1}, {"pipe_size", 65536}, {"data", data}}}};
  json writer = {{"fd", 10}, {"kind", "pipe"}, {"path", "pipe:[1]"}, {"flags", 1}, {"offset", 0},
                 {"object", {{"type", "pipe"}, {"id", 1}, {"pipe_size", 65536}}}};
  expect_objects_refused({reader, writer}, "files/obj-9");
}

TEST_CASE("bad image: no image at all") {
  TempDir dir;
  RestartResult r = restart({(dir / "nothing" / "latest").string()}, dir.path());
  CHECK(r.status == 2);
  CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
}

TEST_CASE("a restore that fails half-way kills its child and says why") {
  Fixture fx;
  // rseq at a read-only page of the executable: everything verifies, the
  // memory is restored, then the kernel refuses the registration.
  json m = fx.manifest();
  for (const auto& map : m["mappings"])
    if (map["perms"] == "r--p" && map["kind"] == "file") {
      m["threads"][0]["rseq"]["area"] = map["start"];
      break;
    }
  fx.set_manifest(m);
  expect_refused(fx, "during the restore", 3);
}

TEST_CASE("a socket is refused, naming the fd, unless --skip-unrestorable makes it /dev/null") {
  TempDir dir;
  fs::create_directories(dir / "run");
  Redirect io;
  io.out = (dir / "run" / "stdout.txt").string();
  Job job = start_job(dir / "img", {prog("prog_socket"), (dir / "marker").string(), (dir / "go").string()},
                      dir / "run", io);
  REQUIRE(eventually([&] { return fs::exists(dir / "marker"); }));
  REQUIRE(checkpoint(job.pid));
  kill_job(job);
  write_file(dir / "go", "");
  const std::string image = (dir / "img" / "latest").string();
  RestartResult refused = restart({image}, dir / "run");
  CHECK(refused.status == 2);
  CHECK(refused.stderr_text.find("fd 3 is a socket") != std::string::npos);
  CHECK(std::count(refused.stderr_text.begin(), refused.stderr_text.end(), '\n') == 1);
  CHECK(processes_running(prog("prog_socket")).empty());

  RestartResult skipped = restart({image, "--skip-unrestorable"}, dir / "run");
  INFO(skipped.stderr_text);
  CHECK(skipped.status == 0);
  CHECK(skipped.stderr_text.find("warning: fd 3") != std::string::npos);
  CHECK(read_file(dir / "run" / "stdout.txt") == "write to fd 3: 1\n");
}
