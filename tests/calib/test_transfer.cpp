// `ckptsim receive` over loopback: a good image arrives intact and private; a
// stream whose checksum does not match is rejected and leaves nothing behind.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "calib/transfer.h"
#include "test_helpers.h"
#include "util/subprocess.h"

namespace fs = std::filesystem;
using namespace ckptsim::calib;

namespace {
// A receiver child (killed on scope exit) and the endpoint it announced.
struct Receiver {
  ckptsim::util::ChildProcess child;
  Endpoint at;
  Receiver(const fs::path& dir, const fs::path& scratch, bool once) {
    ckptsim::util::SpawnSpec s;
    s.argv = {calib_test::ckptsim_exe().string(), "receive", "--listen", "127.0.0.1:0", "--dir", dir.string()};
    if (once) s.argv.push_back("--once");
    s.stdout_path = (scratch / "recv.out").string();
    s.stderr_path = (scratch / "recv.err").string();
    child = ckptsim::util::spawn(s);
    for (int i = 0; i < 600; ++i) {  // up to a minute on a loaded machine
      std::string out = calib_test::read_file(scratch / "recv.out");
      if (out.find('\n') != std::string::npos) {
        at = parse_endpoint(out.substr(13, out.find('\n') - 13));  // "listening on "
        return;
      }
      REQUIRE_FALSE(child.try_wait());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("receiver did not start");
  }
};

fs::path make_image(const fs::path& root) {
  fs::path img = root / "ckpt-0001";
  fs::create_directories(img / "files");
  std::ofstream(img / "core", std::ios::binary) << std::string(3 << 20, 'c') << "end";
  std::ofstream(img / "manifest.json") << "{\"format\": \"ckptsim-image\"}";
  std::ofstream(img / "files" / "fd-1", std::ios::binary) << "hello";
  std::ofstream(img / "files" / "empty", std::ios::binary);
  return img;
}
}  // namespace

TEST_CASE("receive stores a good image, 0700 directories and 0600 files, checksums verified", "[transfer]") {
  calib_test::TempDir tmp;
  fs::path img = make_image(tmp.path() / "src");
  fs::path dest = tmp.path() / "dest";
  Receiver rx(dest, tmp.path(), true);
  SendResult sent = send_image(img, rx.at, "copy-1");
  CHECK(sent.bytes == fs::file_size(img / "core") + 5 + fs::file_size(img / "manifest.json"));
  CHECK(sent.copy_s > 0);
  CHECK(rx.child.wait() == 0);
  const fs::path got = dest / "copy-1";
  for (const char* f : {"core", "manifest.json", "files/fd-1", "files/empty"}) {
    INFO(f);
    REQUIRE(fs::exists(got / f));
    CHECK(calib_test::read_file(got / f) == calib_test::read_file(img / f));
    struct stat st {};
    stat((got / f).c_str(), &st);
    CHECK((st.st_mode & 0777) == 0600);
  }
  struct stat st {};
  stat(got.c_str(), &st);
  CHECK((st.st_mode & 0777) == 0700);
  stat((got / "files").c_str(), &st);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(calib_test::read_file(tmp.path() / "recv.err").find("checksums verified") != std::string::npos);
}

TEST_CASE("receive rejects a transfer whose checksum is wrong", "[transfer]") {
  calib_test::TempDir tmp;
  fs::path img = make_image(tmp.path() / "src");
  fs::path dest = tmp.path() / "dest";
  Receiver rx(dest, tmp.path(), true);
  TransferHeader h = describe_image(img, "copy-bad");
  // One flipped hex digit: the bytes on the wire no longer match the header.
  for (auto& f : h.files)
    if (f.path == "core") f.xxh3[0] = f.xxh3[0] == '0' ? '1' : '0';
  std::string reply = send_raw(rx.at, h, img);
  CHECK(reply.rfind("fail ", 0) == 0);
  CHECK(reply.find("checksum mismatch on core") != std::string::npos);
  CHECK(rx.child.wait() == 1);
  // Nothing usable-looking is left behind.
  CHECK_FALSE(fs::exists(dest / "copy-bad"));
  int entries = 0;
  for (auto& e : fs::directory_iterator(dest)) (void)e, ++entries;
  CHECK(entries == 0);
  std::string err = calib_test::read_file(tmp.path() / "recv.err");
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  CHECK(err.find("rejected copy-bad") != std::string::npos);
}

TEST_CASE("send_image reports a rejection as one TransferError line", "[transfer]") {
  calib_test::TempDir tmp;
  fs::path img = make_image(tmp.path() / "src");
  fs::path dest = tmp.path() / "dest";
  fs::create_directories(dest / "dup");  // an image of that name is already there
  Receiver rx(dest, tmp.path(), false);
  CHECK_THROWS_WITH(send_image(img, rx.at, "dup"), Catch::Contains("rejected dup") && Catch::Contains("already exists"));
  // The receiver keeps serving after a rejection.
  CHECK_NOTHROW(send_image(img, rx.at, "second"));
  CHECK(fs::exists(dest / "second" / "core"));
}

TEST_CASE("a header with an unsafe path is refused", "[transfer]") {
  nlohmann::json j = {{"name", "x"}, {"files", {{{"path", "../etc/passwd"}, {"size", 1}, {"xxh3", "0123456789abcdef"}}}}};
  CHECK_THROWS_AS(TransferHeader::from_json(j), TransferError);
  j = {{"name", "../x"}, {"files", nlohmann::json::array()}};
  CHECK_THROWS_AS(TransferHeader::from_json(j), TransferError);
  CHECK_THROWS_AS(parse_endpoint("nohost"), TransferError);
  CHECK_THROWS_AS(parse_endpoint("h:70000"), TransferError);
  CHECK(parse_endpoint("169.254.231.2:4000").port == 4000);
}
