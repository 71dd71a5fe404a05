// XXH3-64 for the signal path (pure computation, no allocation). Two builds of
// the same code, SSE2 and AVX2, picked once at start-up: hashing runs over
// every dumped byte, so it must cost well under the write itself.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace ckptlib {

struct HashState {
  alignas(64) unsigned char opaque[640];  // an XXH3_state_t (576 bytes in xxHash 0.8)
};

struct HashOps {
  void (*reset)(HashState*);
  void (*update)(HashState*, const void*, size_t);
  uint64_t (*digest)(const HashState*);
  uint64_t (*once)(const void*, size_t);
};

// The fastest variant this CPU runs; decided in the library constructor.
const HashOps& hash_ops();
void choose_hash_ops();

namespace hash_sse2 {
extern const HashOps ops;
}
namespace hash_avx2 {
extern const HashOps ops;
}

}  // namespace ckptlib
