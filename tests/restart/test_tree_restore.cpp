// Restoring a process tree (docs/restarting.md "Process trees") from a tree
// image made by hand (tree_fixture.h): the root gets its pid back in a PID
// namespace of its own, reaps its zombie child with the recorded status,
// its exit status comes out of init, and `ckptsim checkpoint INIT` reaches it.
// Bad trees are refused before anything starts.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>

#include "ckpt/image_format.h"
#include "tree_fixture.h"

using namespace restart_test;
using nlohmann::json;
namespace fmt = ckptsim::image_format;

namespace {

pid_t read_pid(const fs::path& p) {
  std::ifstream in(p);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

}  // namespace

TEST_CASE("tree: the root gets its pid back, reaps its zombie, and its status comes out of init") {
  TreeFixture fx;
  const fs::path pid_file = fx.dir / "restart.pid";
  const pid_t restarter = spawn({ckptsim_exe(), "restart", fx.tree.string(), "--pid-file", pid_file.string()},
                                fx.dir / "run", Redirect{"/dev/null", "/dev/null", (fx.dir / "err.txt").string()});
  REQUIRE(eventually([&] { return fs::exists(fx.dir / "marker2") || !fs::exists("/proc/" + std::to_string(restarter)); }));
  INFO("restart stderr: " << read_file(fx.dir / "err.txt"));
  REQUIRE(fs::exists(fx.dir / "marker2"));
  const std::string out = read_file(fx.dir / "run" / "out.txt");
  CHECK(out == "pid " + std::to_string(fx.root) + " self " + std::to_string(fx.root) + "\nwaited " +
                   std::to_string(fx.zombie) + " status " + std::to_string(fx.zombie_status) + "\n");
  // The init restart returned stands for the tree's root.
  REQUIRE(eventually([&] { return fs::exists(pid_file); }));
  const pid_t init = read_pid(pid_file);
  CHECK(init != fx.root);
  CHECK(run({ckptsim_exe(), "checkpoint", std::to_string(init), "--wait"}, fx.dir / "run",
            Redirect{"/dev/null", (fx.dir / "ckpt-out.txt").string(), (fx.dir / "ckpt-err.txt").string()}) == 0);
  INFO("checkpoint stderr: " << read_file(fx.dir / "ckpt-err.txt"));
  CHECK(read_file(fx.dir / "ckpt-out.txt").find(std::string(fmt::kImagePrefix) + "0003") != std::string::npos);
  write_file(fx.dir / "go2", "");
  CHECK(wait_status(restarter) == 42);
  CHECK(processes_running(fx.exe.string()).empty());
}

TEST_CASE("tree: image show lists the processes, flatten writes the tree process by process") {
  TreeFixture fx;
  auto show = [&](const fs::path& tree) {
    const fs::path out = fx.dir / "show.txt", err = fx.dir / "show-err.txt";
    CHECK(run({ckptsim_exe(), "image", "show", tree.string()}, fx.dir.path(), Redirect{"/dev/null", out.string(), err.string()}) == 0);
    const std::string shown = read_file(out);
    INFO(shown << read_file(err));
    CHECK(shown.find("2 processes (1 live, 1 zombie)") != std::string::npos);
    CHECK(shown.find(std::to_string(fx.zombie)) != std::string::npos);
    CHECK(shown.find("zombie(" + std::to_string(fx.zombie_status) + ")") != std::string::npos);
  };
  show(fx.tree);
  const fs::path flat = fx.dir / "flat", ferr = fx.dir / "flatten-err.txt";
  CHECK(run({ckptsim_exe(), "image", "flatten", fx.tree.string(), "--out", flat.string()}, fx.dir.path(),
            Redirect{"/dev/null", "/dev/null", ferr.string()}) == 0);
  INFO(read_file(ferr));
  CHECK(read_file(flat / "tree.json") == read_file(fx.tree / "tree.json"));
  CHECK(fs::exists(flat / ("proc-" + std::to_string(fx.root)) / "core"));
  show(flat);
}

TEST_CASE("bad tree: tree.json changed after it was written") {
  TreeFixture fx;
  std::string text = read_file(fx.tree / fmt::kTreeManifest);
  text.replace(text.find("prog_tree_root"), 4, "PROG");
  write_file(fx.tree / fmt::kTreeManifest, text);
  fx.expect_refused("checksum mismatch");
}

TEST_CASE("bad tree: a pid listed twice") {
  TreeFixture fx;
  json m = fx.manifest;
  json twice = m["processes"][1];
  m["processes"].push_back(twice);
  fx.write_tree(m);
  fx.expect_refused("listed twice");
}

TEST_CASE("bad tree: a live process without its proc directory") {
  TreeFixture fx;
  fs::rename(fx.proc_dir(), fx.dir / "moved-away");
  fx.expect_refused("missing " + fx.proc_dir().string());
}

TEST_CASE("bad tree: a directory the tree does not list") {
  TreeFixture fx;
  fs::create_directory(fx.tree / (fmt::kProcDirPrefix + std::string("999")));
  fs::permissions(fx.tree / (fmt::kProcDirPrefix + std::string("999")), fs::perms::owner_all);
  fx.expect_refused("is not part of the tree image");
}

TEST_CASE("bad tree: parents that form a cycle") {
  TreeFixture fx;
  json m = fx.manifest;
  json a = m["processes"][1], b = a;
  a["pid"] = 5001, a["ppid"] = 5002;
  b["pid"] = 5002, b["ppid"] = 5001;
  m["processes"].push_back(a);
  m["processes"].push_back(b);
  fx.write_tree(m);
  fx.expect_refused("form a cycle");
}

TEST_CASE("bad tree: a recorded pid 1") {
  TreeFixture fx;
  json m = fx.manifest;
  m["processes"][1]["pid"] = 1;
  fx.write_tree(m);
  fx.expect_refused("pid 1");
}

TEST_CASE("bad tree: the root's image does not record the tree's children") {
  TreeFixture fx;
  json m = fx.manifest;
  m["processes"][1]["pid"] = fx.zombie + 1;
  fx.write_tree(m);
  fx.expect_refused("records the children");
}

TEST_CASE("bad tree: a parent that is not in the tree") {
  TreeFixture fx;
  json m = fx.manifest;
  m["processes"][1]["ppid"] = fx.zombie + 7;
  fx.write_tree(m);
  fx.expect_refused("is not in the tree");
}

TEST_CASE("bad tree: a shared open file naming a process the tree does not have") {
  TreeFixture fx;
  json m = fx.manifest;
  m["shared_files"] = json::array({json::array({{{"pid", fx.root}, {"fd", 1}}, {{"pid", fx.zombie + 7}, {"fd", 1}}})});
  fx.write_tree(m);
  fx.expect_refused("not a live process of the tree");
}

TEST_CASE("bad tree: a shared open file naming a zombie") {
  TreeFixture fx;
  json m = fx.manifest;
  m["shared_files"] = json::array({json::array({{{"pid", fx.root}, {"fd", 1}}, {{"pid", fx.zombie}, {"fd", 1}}})});
  fx.write_tree(m);
  fx.expect_refused("not a live process of the tree");  // a zombie holds no descriptors
}

// A daemon's double fork leaves a process whose session leader is gone; its
// parent is the job's first process, a child subreaper under `ckptsim run`
// (its manifest says so). Here the zombie stands for it: a helper under the
// gone leader's pid recreates the session, creates it and exits, and the root
// still reaps it under its pid with its status.
TEST_CASE("tree: a zombie whose session leader is gone comes back, still the root's child") {
  TreeFixture fx;
  const json root_manifest = json::parse(read_file(fx.proc_dir() / fmt::kManifest));
  CHECK(root_manifest[fmt::key::kProcess]["child_subreaper"] == true);
  json m = fx.manifest;
  m["processes"][1]["sid"] = 4300;
  m["processes"][1]["pgid"] = 4300;
  fx.write_tree(m);
  write_file(fx.dir / "go2", "");
  RestartResult r = restart({fx.tree.string()}, fx.dir / "run");
  INFO("restart stderr: " << r.stderr_text);
  CHECK(r.status == 42);
  CHECK(read_file(fx.dir / "run" / "out.txt") ==
        "pid " + std::to_string(fx.root) + " self " + std::to_string(fx.root) + "\nwaited " +
            std::to_string(fx.zombie) + " status " + std::to_string(fx.zombie_status) + "\n");
  CHECK(processes_running(fx.exe.string()).empty());
}

TEST_CASE("bad tree: a session named after a process of the tree that does not lead it") {
  TreeFixture fx;
  json m = fx.manifest;
  m["processes"][1]["sid"] = fx.root;  // the root is in the session of whoever ran the job
  m["processes"][1]["pgid"] = fx.root;
  fx.write_tree(m);
  fx.expect_refused("does not lead that session: it cannot be recreated");
}

TEST_CASE("bad tree: a session whose leader is gone, under a parent that was no child subreaper") {
  TreeFixture fx;
  json pm = json::parse(read_file(fx.proc_dir() / fmt::kManifest));
  pm.erase(fmt::key::kOwnChecksum);
  pm[fmt::key::kProcess]["child_subreaper"] = false;
  write_signed_manifest(fx.proc_dir(), pm.dump());
  json m = fx.manifest;
  m["processes"][1]["sid"] = 4300;
  m["processes"][1]["pgid"] = 4300;
  fx.write_tree(m);
  fx.expect_refused("no child subreaper");
}

TEST_CASE("bad tree: a manifest whose child_subreaper is not true or false") {
  TreeFixture fx;
  json pm = json::parse(read_file(fx.proc_dir() / fmt::kManifest));
  pm.erase(fmt::key::kOwnChecksum);
  pm[fmt::key::kProcess]["child_subreaper"] = 1;
  write_signed_manifest(fx.proc_dir(), pm.dump());
  fx.expect_refused("child_subreaper is not true or false");
}

// The leader of that session exited too and is still an unreaped zombie of the
// root: that zombie creates the process in its session before it exits.
TEST_CASE("tree: a zombie whose session leader is an unreaped zombie sibling comes back") {
  TreeFixture fx;
  json m = fx.manifest;
  json leader = m["processes"][1];
  leader["pid"] = leader["sid"] = leader["pgid"] = 4300;
  leader["exit_status"] = 0;
  m["processes"][1]["sid"] = 4300;
  m["processes"][1]["pgid"] = 4300;
  m["processes"].push_back(leader);
  fx.write_tree(m);
  write_file(fx.dir / "go2", "");
  RestartResult r = restart({fx.tree.string()}, fx.dir / "run");
  INFO("restart stderr: " << r.stderr_text);
  CHECK(r.status == 42);
  CHECK(read_file(fx.dir / "run" / "out.txt").find("waited " + std::to_string(fx.zombie) + " status " +
                                                    std::to_string(fx.zombie_status)) != std::string::npos);
}
