// Copying a checkpoint image to "another node" over TCP, checked end to end.
//
// Protocol (one image per connection):
//   sender -> "CKXFER01", u64 little-endian header length, header JSON
//             {"name": "...", "files": [{"path": "core", "size": N, "xxh3": "16 hex"}...]},
//             then the bytes of every file, in header order;
//   receiver -> one line: "ok <bytes>\n" or "fail <reason>\n".
// The receiver hashes every file as it arrives, writes into a temporary
// directory and renames it into place only if every checksum matched, so a
// corrupted transfer never leaves a usable-looking image behind.
#pragma once
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ckptsim::calib {

struct TransferError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Endpoint {
  std::string host;  // numeric IPv4 address or a name
  uint16_t port = 0;
  std::string str() const { return host + ":" + std::to_string(port); }
};
// "HOST:PORT" -> Endpoint; throws TransferError for a malformed spec.
Endpoint parse_endpoint(const std::string& spec);

struct FileEntry {
  std::string path;  // relative to the image directory
  uint64_t size = 0;
  std::string xxh3;  // 16 lowercase hex digits
};

struct TransferHeader {
  std::string name;  // directory name on the receiving side (one path component)
  std::vector<FileEntry> files;
  nlohmann::json to_json() const;
  static TransferHeader from_json(const nlohmann::json& j);  // throws TransferError
  uint64_t total_bytes() const;
};

// Lists the regular files of an image directory and hashes them (XXH3-64).
TransferHeader describe_image(const std::filesystem::path& image_dir, const std::string& name);

struct SendResult {
  uint64_t bytes = 0;
  double hash_s = 0;  // describing/hashing the image before the copy
  double copy_s = 0;  // connect -> receiver confirmed every checksum
};

// Sends an image directory; throws TransferError (one line) if the receiver is
// unreachable or rejects the transfer.
SendResult send_image(const std::filesystem::path& image_dir, const Endpoint& to, const std::string& name);
// Lower level, for tests: sends a header and the bytes of the given files as
// they are (a header with a wrong checksum exercises the receiver's check).
// Returns the receiver's reply line (without newline).
std::string send_raw(const Endpoint& to, const TransferHeader& header, const std::filesystem::path& image_dir);
// Connects and disconnects: is anything listening there?
void probe_endpoint(const Endpoint& to);

struct ReceiveOptions {
  std::string listen_host = "0.0.0.0";
  uint16_t port = 0;           // 0: any; the bound port is announced on stdout
  std::filesystem::path dir;   // images land in dir/<name>, 0700 / files 0600
  bool once = false;           // serve one transfer, exit 0 if it was good, 1 if rejected
};

// Serves until stopped (stop flag) or, with once, after one transfer. Prints
// "listening on HOST:PORT" (flushed) on stdout once ready, and one line per
// transfer on stderr. Returns the exit status.
int serve_images(const ReceiveOptions& opts);

}  // namespace ckptsim::calib
