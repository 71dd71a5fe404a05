// 64-bit values and XXH3-64 checksums as 16 lowercase hex digits: the form the
// image format, the transfer header and the sweep's identity all write, so one
// spelling is compared with another byte for byte.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ckptsim::util {

std::string hex64(uint64_t v);
std::string xxh3_hex(const void* data, std::size_t len);
inline std::string xxh3_hex(const std::string& bytes) { return xxh3_hex(bytes.data(), bytes.size()); }

}  // namespace ckptsim::util
