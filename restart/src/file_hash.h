// XXH3-64 checksums as the image format writes them (16 lowercase hex digits).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace ckptsim::restart {

std::string hex_xxh3(uint64_t h);
std::string xxh3_of_bytes(const void* data, size_t len);
// Hash of a whole file (mapped, not read), or nullopt if it cannot be opened.
// `size_out` receives its size.
std::optional<std::string> xxh3_of_file(const std::filesystem::path& p, uint64_t* size_out = nullptr);
// Same, of an open regular file.
std::optional<std::string> xxh3_of_fd(int fd, uint64_t* size_out = nullptr);

}  // namespace ckptsim::restart
