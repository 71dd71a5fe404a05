// An image is untrusted input, and restart may run as root: FIFOs and links
// in an image, manifests that name files outside it or steer writes to other
// users' files, fields that do not fit, and a copy swapped for a link while
// restarts run (the fuzz of manifests and core headers: test_image_fuzz.cpp).
#include <catch2/catch.hpp>

#include <elf.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "image_fixture.h"

using namespace restart_test;
using nlohmann::json;

namespace {

constexpr uid_t kNobody = 65534;

// The regular fd entry of lines.txt (the job's output) in the manifest.
json& lines_fd(json& m) {
  for (auto& f : m["fds"])
    if (f["kind"] == "regular" && f["path"].get<std::string>().find("lines.txt") != std::string::npos) return f;
  FAIL("no lines.txt fd in the manifest");
  return m;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void chown_tree(const fs::path& p, uid_t uid) {
  REQUIRE(::lchown(p.c_str(), uid, uid) == 0);
  if (fs::is_directory(fs::symlink_status(p)))
    for (const auto& e : fs::recursive_directory_iterator(p)) REQUIRE(::lchown(e.path().c_str(), uid, uid) == 0);
}

// The owner's manifest, re-signed and the owner's again, naming `path` as the
// job's fd 7 (its copy and checksum are those of the job's own output).
void open_at_fd7(const Fixture& fx, const fs::path& path) {
  json m = fx.manifest();
  json entry = lines_fd(m);
  entry["fd"] = 7;
  entry["path"] = path.string();
  m["fds"].push_back(entry);
  fx.set_manifest(m);
  chown_tree(fx.image / "manifest.json", kNobody);
}

}  // namespace

TEST_CASE("trust: a FIFO in place of any file of the image is refused at once") {
  for (const std::string rel : {"manifest.json", "core", "exe", "files/fd-1"}) {
    DYNAMIC_SECTION(rel) {
      Fixture fx;
      json m = fx.manifest();
      std::string target = rel;
      if (rel == "files/fd-1") target = lines_fd(m)["copy"];
      fs::remove(fx.image / target);
      REQUIRE(::mkfifo((fx.image / target).c_str(), 0600) == 0);
      const auto t0 = std::chrono::steady_clock::now();
      RestartResult r = restart({fx.image.string()}, fx.dir / "run");
      const double took = seconds_since(t0);
      INFO(r.stderr_text << " after " << took << " s");
      CHECK(r.status == 2);
      CHECK(r.stderr_text.find("a FIFO") != std::string::npos);
      CHECK(took < 10);  // before: blocked for ever
      CHECK(processes_running(fx.exe.string()).empty());
    }
  }
}

TEST_CASE("trust: a copy that is a symbolic link, or a path outside files/, is refused") {
  SECTION("files/fd-N swapped for a link to another file") {
    Fixture fx;
    json m = fx.manifest();
    const fs::path copy = fx.image / lines_fd(m)["copy"].get<std::string>();
    fs::remove(copy);
    fs::create_symlink("/etc/hostname", copy);
    expect_refused(fx, "is a symbolic link");
  }
  for (const std::string bad_copy : {"/etc/hostname", "files/../manifest.json"}) {
    DYNAMIC_SECTION("a copy path " << bad_copy) {
      Fixture fx;
      json m = fx.manifest();
      lines_fd(m)["copy"] = bad_copy;
      fx.set_manifest(m);
      expect_refused(fx, "is not a file of the image's files/ directory");
    }
  }
  SECTION("exe_copy naming another file") {
    Fixture fx;
    json m = fx.manifest();
    m["exe_copy"]["file"] = "files/fd-1";
    fx.set_manifest(m);
    expect_refused(fx, "not \"exe\"");
  }
}

TEST_CASE("trust: manifest fields that are missing, out of range or not normalised are refused") {
  struct Mutation {
    const char* name;
    std::function<void(json&)> apply;
    const char* needle;
  };
  const std::vector<Mutation> mutations = {
      {"a regular fd without its offset", [](json& m) { lines_fd(m).erase("offset"); }, "missing field fds["},
      {"a regular fd without its checksum", [](json& m) { lines_fd(m).erase("xxh3"); }, "missing field fds["},
      {"a path with ..", [](json& m) { lines_fd(m)["path"] = "/tmp/../etc/lines.txt"; }, "not a normalised path"},
      {"a relative path", [](json& m) { lines_fd(m)["path"] = "lines.txt"; }, "not an absolute path"},
      {"a relative cwd", [](json& m) { m["cwd"] = "run"; }, "not an absolute path"},
      {"a relative shared file",
       [](json& m) { m["shared_files"] = json::array({{{"path", "data.bin"}, {"copy", "files/map-0"}, {"size", 0},
                                                        {"xxh3", "2d06800538d394c2"}}}); },
       "not an absolute path"},
      {"a signal number past 2^32", [](json& m) { m["sigactions"][0]["signo"] = (1ull << 32) + 2; }, "out of range"},
      {"a pid past pid_max", [](json& m) { m["pid"] = 1ull << 40; }, "out of range"},
      {"an fd number that does not fit", [](json& m) { lines_fd(m)["fd"] = 1ull << 33; }, "out of range"},
      {"a negative offset", [](json& m) { lines_fd(m)["offset"] = -5; }, "not an unsigned integer"},
      {"a number too large for 64 bits", [](json& m) { m["seq"] = 1e23; }, "not an unsigned integer"},
      {"a checksum that is not one", [](json& m) { lines_fd(m)["xxh3"] = "../../x"; }, "not a checksum"},
  };
  Fixture fx;
  const json original = fx.manifest();
  for (const auto& mu : mutations) {
    INFO(mu.name);
    json m = original;
    mu.apply(m);
    fx.set_manifest(m);
    expect_refused(fx, mu.needle);
  }
  // Edited in place without its checksum: refused as changed.
  fx.set_manifest(original);
  std::string text = read_file(fx.image / "manifest.json");
  const std::string cwd = "\"cwd\":\"" + original["cwd"].get<std::string>() + "\"";
  REQUIRE(text.find(cwd) != std::string::npos);
  text.replace(text.find(cwd), cwd.size(), "\"cwd\":\"/tmp\"");
  write_file(fx.image / "manifest.json", text);
  expect_refused(fx, "checksum mismatch (the manifest was changed)");
}

TEST_CASE("trust: root restoring another user image writes only that user files and runs the job as that user") {
  if (::geteuid() != 0) {
    WARN("skipped: needs root (restoring another user's image)");
    return;
  }
  Fixture fx;
  // The job's own tree belongs to the other user (nobody), as if they had run it.
  chown_tree(fx.dir / "img", kNobody);
  chown_tree(fx.dir / "run", kNobody);
  REQUIRE(::chown(fx.dir.path().c_str(), kNobody, kNobody) == 0);
  REQUIRE(::chmod(fx.dir.path().c_str(), 0755) == 0);
  REQUIRE(::chown((fx.dir / "bin").c_str(), kNobody, kNobody) == 0);
  REQUIRE(::chown(fx.exe.c_str(), kNobody, kNobody) == 0);
  // The gate marker is a file the job wrote (the image puts it back, as its owner).
  REQUIRE(::chown((fx.dir / "marker").c_str(), kNobody, kNobody) == 0);

  SECTION("a manifest entry for a root-owned file is refused; the file is untouched") {
    const fs::path victim = fx.dir / "victim.txt";
    write_file(victim, "root's file\n");
    REQUIRE(::chmod(victim.c_str(), 0644) == 0);
    open_at_fd7(fx, victim);
    RestartResult r = restart({fx.image.string()}, fx.dir / "run");
    INFO(r.stderr_text);
    CHECK(r.status == 2);
    CHECK(r.stderr_text.find("refusing to write " + victim.string()) != std::string::npos);
    CHECK(read_file(victim) == "root's file\n");
    CHECK(processes_running(fx.exe.string()).empty());
  }
  SECTION("--allow-foreign-files: root's rights for the files, so the root-owned 0600 file is written") {
    const fs::path victim = fx.dir / "victim.txt";
    write_file(victim, "root's file\n");
    REQUIRE(::chmod(victim.c_str(), 0600) == 0);
    open_at_fd7(fx, victim);
    RestartResult r = restart({fx.image.string(), "--allow-foreign-files"}, fx.dir / "run");
    INFO(r.stderr_text);
    CHECK(r.status == 0);
    CHECK(read_file(victim) != "root's file\n");  // the owner's bytes, written with root's rights
  }
  SECTION("a file the owner may write but nobody can (immutable) is not blamed on the missing flag") {
    const fs::path stuck = fx.dir / "stuck.txt";
    write_file(stuck, "immutable\n");
    REQUIRE(::chown(stuck.c_str(), kNobody, kNobody) == 0);
    if (!fs::exists("/usr/bin/chattr") || run({"/usr/bin/chattr", "+i", stuck.string()}, fx.dir.path(), Redirect{}) != 0) {
      WARN("skipped: chattr +i is not available or not permitted here");
      return;
    }
    open_at_fd7(fx, stuck);
    RestartResult r = restart({fx.image.string()}, fx.dir / "run");
    run({"/usr/bin/chattr", "-i", stuck.string()}, fx.dir.path(), Redirect{});
    INFO(r.stderr_text);
    CHECK(r.status != 0);
    CHECK(r.stderr_text.find(stuck.string()) != std::string::npos);
    CHECK(r.stderr_text.find("Operation not permitted") != std::string::npos);
    CHECK(r.stderr_text.find("--allow-foreign-files") == std::string::npos);
    CHECK(processes_running(fx.exe.string()).empty());
  }
  SECTION("the image restores, as its owner") {
    // The gate closed again, so the restored job waits at it while we look.
    fs::remove(fx.dir / "go");
    const fs::path pid_file = fx.dir / "pid";
    Redirect io;
    io.err = (fx.dir / "restart-stderr.txt").string();
    const pid_t restarter = spawn({ckptsim_exe(), "restart", fx.image.string(), "--pid-file", pid_file.string()},
                                  fx.dir / "run", io);
    REQUIRE(eventually([&] { return read_file(pid_file).find('\n') != std::string::npos; }));
    const std::string status = read_file("/proc/" + std::to_string(std::stoi(read_file(pid_file))) + "/status");
    write_file(fx.dir / "go", "");
    INFO(read_file(fx.dir / "restart-stderr.txt"));
    CHECK(wait_status(restarter) == 0);
    CHECK(status.find("Uid:\t65534\t65534\t65534\t65534") != std::string::npos);
    CHECK(status.find("Gid:\t65534\t65534\t65534\t65534") != std::string::npos);
    CHECK(!file_contains(fx.dir / "run" / "lines.txt", kKilledRunMark));
  }
}

TEST_CASE("trust: a copy swapped for a link to a secret during 200 restarts never leaks it") {
  Fixture fx;
  const fs::path secret = fx.dir / "secret.txt";
  write_file(secret, "THE SECRET THAT MUST NOT LEAK\n");
  REQUIRE(::chmod(secret.c_str(), 0600) == 0);
  json m = fx.manifest();
  const fs::path copy = fx.image / lines_fd(m)["copy"].get<std::string>();
  const fs::path keep = fx.dir / "copy-original";
  fs::copy_file(copy, keep);
  REQUIRE(::chmod(keep.c_str(), 0600) == 0);
  const fs::path staged_file = fx.image / "files" / ".staged-file", staged_link = fx.image / "files" / ".staged-link";

  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    // Atomic replacements, alternating: the real copy, then a link to the secret.
    while (!stop) {
      std::error_code ec;
      fs::remove(staged_file, ec);
      fs::copy_file(keep, staged_file, ec);
      ::rename(staged_file.c_str(), copy.c_str());
      std::this_thread::sleep_for(std::chrono::microseconds(300));  // both states last long enough to be met
      fs::remove(staged_link, ec);
      fs::create_symlink(secret, staged_link, ec);
      ::rename(staged_link.c_str(), copy.c_str());
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  });
  int restored = 0, refused = 0, leaked = 0, other = 0;
  for (int i = 0; i < 200; ++i) {
    append_file(fx.dir / "run" / "lines.txt", kKilledRunMark);
    RestartResult r = restart({fx.image.string()}, fx.dir / "run");
    const std::string out = read_file(fx.dir / "run" / "lines.txt");
    if (out.find("THE SECRET") != std::string::npos) ++leaked;
    if (r.status == 0) ++restored;
    else if (r.status == 2) ++refused;
    else ++other;
  }
  stop = true;
  swapper.join();
  WARN("200 restarts while a copy was swapped for a link: " << restored << " restored, " << refused << " refused, "
                                                          << other << " other, " << leaked << " leaked");
  CHECK(leaked == 0);
  CHECK(other == 0);
  CHECK(restored + refused == 200);
}
