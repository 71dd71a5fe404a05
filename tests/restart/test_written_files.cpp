// Files the job writes and closes again (ckpt/src/lib/written_files.h): a
// restore must undo what the killed run wrote to them after the checkpoint,
// though no process held them open at that moment. Each job here came back
// with lines written twice, or a wrong count, before the library kept its
// journal of written files.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ckpt/image_format.h"
#include "tree_jobs.h"

using namespace restart_test;
namespace fmt = ckptsim::image_format;

namespace {

std::vector<std::string> python(const std::string& code) { return {"/usr/bin/python3", "-c", code}; }

nlohmann::json manifest_of(const fs::path& image) { return nlohmann::json::parse(read_file(image / fmt::kManifest)); }

// A Python job appending `lines` lines to out, each through its own open and
// close, 10 ms apart; it starts only once `gate` exists (when not empty).
std::vector<std::string> appender(int lines, const std::string& gate = "") {
  return python("import os, time\n"
                "while '" + gate + "' and not os.path.exists('" + gate + "'):\n    time.sleep(0.01)\n"
                "for i in range(" + std::to_string(lines) + "):\n"
                "    with open('out', 'a') as o:\n        o.write('%d\\n' % i)\n"
                "    time.sleep(0.01)\n");
}

// The strings of the journal's NUL-ended records.
std::vector<std::string> journal_records(const fs::path& img) {
  const std::string text = read_file(img / fmt::kWrittenJournal);
  std::vector<std::string> out;
  for (size_t start = 0, end; (end = text.find('\0', start)) != std::string::npos; start = end + 1)
    out.push_back(text.substr(start, end - start));
  return out;
}

}  // namespace

TEST_CASE("written files: one process appending through an open and a close per line") {
  TreeJob j;
  j.argv = appender(400);
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("written files: a counter kept in a file replaced by rename at every step") {
  // Each step reads the count from `state`, writes count + 1 to a temporary
  // and renames it over `state`: a restore that left the killed run's later
  // `state` would number the lines from there.
  TreeJob j;
  j.argv = python("import os, time\n"
                  "with open('state', 'w') as s:\n    s.write('0')\n"
                  "with open('out', 'w') as o:\n"
                  "    for i in range(300):\n"
                  "        n = int(open('state').read())\n"
                  "        o.write('%d %d\\n' % (i, n)); o.flush()\n"
                  "        with open('state.tmp', 'w') as t:\n            t.write(str(n + 1))\n"
                  "        os.replace('state.tmp', 'state')\n"
                  "        time.sleep(0.01)\n");
  j.outputs = {"out", "state"};
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("written files: awk appending through fopen and fclose, from a shell's child, napping in children") {
  TreeJob j;
  j.argv = {"/bin/bash", "job.sh"};
  j.script =
      "awk 'BEGIN { nap = \"sleep 0.02\"; for (i = 0; i < 150; i++) { print i, i * i >> \"out\"; close(\"out\");"
      " nap | getline; close(nap) } }'\n";
  CHECK(check_tree_job(j) == TreeOutcome::restored);
}

TEST_CASE("written files: the journal names each file once per process, never the image directory or /proc") {
  TempDir dir;
  const fs::path cwd = dir / "run", img = dir / "img";
  fs::create_directories(cwd);
  Job job = start_job(img, {"/bin/bash", "-c",
                            "for i in 1 2 3; do echo $i >> out; /bin/echo $i >> out2; done; cat /proc/self/stat > /dev/null;"
                            " echo x > \"$CKPT_DIR\"/mine; echo done > finished; sleep 600"},
                      cwd, Redirect{});
  REQUIRE(eventually([&] { return fs::exists(cwd / "finished"); }));
  const auto records = journal_records(img);
  const std::string out = fs::canonical(cwd / "out").string(), out2 = fs::canonical(cwd / "out2").string();
  // bash noted out once (its own redirections); each /bin/echo child noted out2.
  CHECK(std::count(records.begin(), records.end(), out) == 1);
  CHECK(std::count(records.begin(), records.end(), out2) == 3);
  for (const auto& r : records) {
    INFO(r);
    CHECK(r.rfind("/proc/", 0) != 0);
    CHECK(r.rfind(fs::canonical(img).string() + "/", 0) != 0);
  }
  kill_job_tree(job);
}

TEST_CASE("written files: a checkpoint copies each file once, leaves out those gone, and compacts the journal") {
  TempDir dir;
  const fs::path cwd = dir / "run", img = dir / "img";
  fs::create_directories(cwd);
  Job job = start_job(img, {"/bin/bash", "-c", "echo a > kept; echo b > gone; rm gone; echo ready > ready; sleep 600"},
                      cwd, Redirect{});
  REQUIRE(eventually([&] { return fs::exists(cwd / "ready"); }));
  const std::string kept = fs::canonical(cwd / "kept").string();
  // 200,000 repeats of one record, as many short-lived writers leave: 4 MB and more.
  {
    std::ofstream j(img / fmt::kWrittenJournal, std::ios::app | std::ios::binary);
    for (int i = 0; i < 200000; ++i) j << kept << '\0';
  }
  REQUIRE(checkpoint(job.pid));
  const fs::path image = fs::canonical(img / fmt::kLatest);
  const auto m = manifest_of(image);
  REQUIRE(m.contains("written_files"));
  std::vector<std::string> paths;
  for (const auto& w : m["written_files"]) paths.push_back(w["path"]);
  // `ready` is open nowhere either; `gone` is not there to copy.
  CHECK(std::count(paths.begin(), paths.end(), kept) == 1);
  CHECK(std::count(paths.begin(), paths.end(), fs::absolute(cwd / "gone").lexically_normal().string()) == 0);
  const auto records = journal_records(img);
  CHECK(records.size() <= 4);  // kept, gone, ready (and nothing twice)
  CHECK(std::count(records.begin(), records.end(), kept) == 1);
  kill_job_tree(job);
}

TEST_CASE("written files: a copy changed in the image is refused, naming the file, and nothing is written") {
  TempDir dir;
  const fs::path cwd = dir / "run", img = dir / "img";
  fs::create_directories(cwd);
  Job job = start_job(img, appender(100000, "go"), cwd, Redirect{});
  write_file(cwd / "go", "");
  REQUIRE(eventually([&] { return fs::exists(cwd / "out") && fs::file_size(cwd / "out") > 200; }));
  REQUIRE(checkpoint(job.pid));
  kill_job_tree(job);
  const fs::path image = fs::canonical(img / fmt::kLatest);
  const auto m = manifest_of(image);
  REQUIRE(m["written_files"].size() == 1);
  const fs::path copy = image / m["written_files"][0]["copy"].get<std::string>();
  std::string bytes = read_file(copy);
  REQUIRE(!bytes.empty());
  bytes[0] = bytes[0] == '9' ? '8' : '9';
  write_file(copy, bytes);
  fs::permissions(copy, fs::perms::owner_read | fs::perms::owner_write);
  const std::string before = read_file(cwd / "out");
  RestartResult r = restart({(img / fmt::kLatest).string()}, cwd);
  CHECK(r.status == 2);
  CHECK(r.stderr_text.find("copy of " + fs::canonical(cwd / "out").string()) != std::string::npos);
  CHECK(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n') == 1);
  CHECK(read_file(cwd / "out") == before);
}
