#define HASH_NS hash_sse2
#include "hash_variant.inc"
