#include "util/hex.h"

#include <xxhash.h>

#include <cinttypes>
#include <cstdio>

namespace ckptsim::util {

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string xxh3_hex(const void* data, std::size_t len) { return hex64(XXH3_64bits(data, len)); }

}  // namespace ckptsim::util
