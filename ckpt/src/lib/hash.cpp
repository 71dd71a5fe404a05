#include "hash.h"

namespace ckptlib {

namespace {
const HashOps* g_ops = &hash_sse2::ops;
}

void choose_hash_ops() {
  __builtin_cpu_init();
  g_ops = __builtin_cpu_supports("avx2") ? &hash_avx2::ops : &hash_sse2::ops;
}

const HashOps& hash_ops() { return *g_ops; }

}  // namespace ckptlib
