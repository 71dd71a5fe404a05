// XXH3-64 checksums of image files as the image format writes them (16
// lowercase hex digits, util/hex.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace ckptsim::restart {

// Hash of a whole file (mapped, not read), or nullopt if it cannot be opened.
// `size_out` receives its size.
std::optional<std::string> xxh3_of_file(const std::filesystem::path& p, uint64_t* size_out = nullptr);
// Same, of an open regular file.
std::optional<std::string> xxh3_of_fd(int fd, uint64_t* size_out = nullptr);

}  // namespace ckptsim::restart
