#include "tree_fixture.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

#include "ckpt/image_format.h"
#include "ckpt/image_summary.h"

namespace restart_test {

namespace fmt = ckptsim::image_format;
using nlohmann::json;

TreeFixture::TreeFixture() {
  fs::create_directories(dir / "bin");
  fs::create_directories(dir / "run");
  exe = dir / "bin" / "prog_tree_root";
  fs::copy_file(prog("prog_tree_root"), exe);
  fs::permissions(exe, fs::perms::owner_all);
  // The zombie's pid is only ever used inside the tree's namespace.
  zombie = 4242;
  Job job = start_job(dir / "img",
                      {exe.string(), (dir / "marker").string(), (dir / "go").string(), std::to_string(zombie),
                       (dir / "run" / "out.txt").string(), (dir / "marker2").string(), (dir / "go2").string()},
                      dir / "run", Redirect{});
  REQUIRE(eventually([&] { return fs::exists(dir / "marker"); }));
  REQUIRE(checkpoint(job.pid));
  root = job.pid;
  if (zombie == root) zombie = 4243;
  kill_job(job);
  tree = dir / "img" / (std::string(fmt::kImagePrefix) + "0002");
  REQUIRE(::mkdir(tree.c_str(), 0700) == 0);
  fs::rename(dir / "img" / (std::string(fmt::kImagePrefix) + "0001"), proc_dir());
  // The root's own manifest records its child, as a tree's process's does.
  json m = json::parse(read_file(proc_dir() / fmt::kManifest));
  m.erase(fmt::key::kOwnChecksum);
  m[fmt::key::kProcess]["children"] = json::array({zombie});
  write_signed_manifest(proc_dir(), m.dump());
  const json& p = m[fmt::key::kProcess];
  manifest = {{fmt::key::kFormat, fmt::kTreeFormatName},
              {fmt::key::kFormatVersion, fmt::kTreeVersion},
              {fmt::key::kSeq, 2},
              {"root", root},
              {fmt::key::kCreatedNs, 1},
              {"processes",
               json::array({{{"pid", root}, {"ppid", p["ppid"]}, {"pgid", p["pgid"]}, {"sid", p["sid"]},
                             {"comm", "prog_tree_root"}, {"state", "live"},
                             {"image", fmt::kProcDirPrefix + std::to_string(root)}},
                            {{"pid", zombie}, {"ppid", root}, {"pgid", p["pgid"]}, {"sid", p["sid"]},
                             {"comm", "true"}, {"state", "zombie"}, {"exit_status", zombie_status}}})},
              {"shared_files", json::array()}};
  write_tree(manifest);
  write_file(dir / "go", "");
}

fs::path TreeFixture::proc_dir() const { return tree / (fmt::kProcDirPrefix + std::to_string(root)); }

void TreeFixture::write_tree(json j) const {
  std::string text = j.dump();
  text.pop_back();  // the closing brace: the checksum goes last
  write_file(tree / fmt::kTreeManifest, ckptsim::ckpt::seal_manifest(text));
  fs::permissions(tree / fmt::kTreeManifest, fs::perms::owner_read | fs::perms::owner_write);
}

void TreeFixture::expect_refused(const std::string& needle) const {
  RestartResult r = restart({tree.string()}, dir / "run");
  INFO("stderr: " << r.stderr_text);
  CHECK(r.status == 2);
  CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  CHECK(r.stderr_text.find(needle) != std::string::npos);
  CHECK(processes_running(exe.string()).empty());
  CHECK(!fs::exists(dir / "run" / "out.txt"));
}

}  // namespace restart_test
