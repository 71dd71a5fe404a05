// The transfer header and the description (listing + hashes) of an image.
#include <fcntl.h>
#include <sys/stat.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "calib/transfer.h"
#include "transfer_io.h"
#include "util/hex.h"
#include "util/owned_fd.h"

namespace fs = std::filesystem;

namespace ckptsim::calib {

Endpoint parse_endpoint(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size())
    throw TransferError("expected HOST:PORT, got '" + spec + "'");
  Endpoint e;
  e.host = spec.substr(0, colon);
  const std::string port = spec.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5)
    throw TransferError("bad port in '" + spec + "'");
  unsigned long p = std::stoul(port);
  if (p == 0 || p > 65535) throw TransferError("port out of range in '" + spec + "'");
  e.port = static_cast<uint16_t>(p);
  return e;
}

nlohmann::json TransferHeader::to_json() const {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : this->files) files.push_back({{"path", f.path}, {"size", f.size}, {"xxh3", f.xxh3}});
  return {{"name", name}, {"files", files}};  // not an image name: the transfer header's key
}

bool is_safe_relative_path(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.size() > 4096) return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string comp = p.substr(start, end - start);
    if (comp.empty() || comp == "." || comp == "..") return false;
    for (char c : comp)
      if (c == '\0' || c == '\n') return false;
    start = end + 1;
  }
  return true;
}

TransferHeader TransferHeader::from_json(const nlohmann::json& j) {
  try {
    TransferHeader h;
    h.name = j.at("name").get<std::string>();
    if (!is_safe_relative_path(h.name) || h.name.find('/') != std::string::npos)
      throw TransferError("bad image name '" + h.name + "'");
    for (const auto& f : j.at("files")) {  // not an image name: the transfer header's key
      FileEntry e;
      e.path = f.at("path").get<std::string>();
      e.size = f.at("size").get<uint64_t>();
      e.xxh3 = f.at("xxh3").get<std::string>();
      if (!is_safe_relative_path(e.path)) throw TransferError("bad file path '" + e.path + "'");
      if (e.xxh3.size() != 16 || e.xxh3.find_first_not_of("0123456789abcdef") != std::string::npos)
        throw TransferError("bad checksum for '" + e.path + "'");
      h.files.push_back(std::move(e));
    }
    return h;
  } catch (const nlohmann::json::exception& e) {
    throw TransferError(std::string("bad transfer header: ") + e.what());
  }
}

uint64_t TransferHeader::total_bytes() const {
  uint64_t t = 0;
  for (const auto& f : files) t += f.size;
  return t;
}

namespace {
struct StateFree {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

std::string hash_file(const fs::path& p, uint64_t& size) {
  util::OwnedFd fd(open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw TransferError("cannot read " + p.string() + ": " + std::strerror(errno));
  std::unique_ptr<XXH3_state_t, StateFree> st(XXH3_createState());
  XXH3_64bits_reset(st.get());
  std::vector<char> buf(1 << 20);
  size = 0;
  for (;;) {
    ssize_t n = read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw TransferError("cannot read " + p.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    XXH3_64bits_update(st.get(), buf.data(), static_cast<size_t>(n));
    size += static_cast<uint64_t>(n);
  }
  return util::hex64(XXH3_64bits_digest(st.get()));
}
}  // namespace

TransferHeader describe_image(const fs::path& image_dir, const std::string& name) {
  std::error_code ec;
  fs::path dir = fs::canonical(image_dir, ec);
  if (ec || !fs::is_directory(dir)) throw TransferError("not an image directory: " + image_dir.string());
  TransferHeader h;
  h.name = name;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_symlink()) continue;  // an image holds regular files only; `latest` lives outside it
    if (it->is_regular_file()) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    FileEntry e;
    e.path = fs::relative(f, dir).string();
    e.xxh3 = hash_file(f, e.size);
    h.files.push_back(std::move(e));
  }
  return h;
}

}  // namespace ckptsim::calib
