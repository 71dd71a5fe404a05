// Compiled with -mavx2 (see ckpt/CMakeLists.txt); only called when the CPU has AVX2.
#define HASH_NS hash_avx2
#include "hash_variant.inc"
