// AVX/SSE values live in registers across the checkpoint: ymm0..ymm15 are
// loaded, then a loop (written in asm so no compiler spill can hide a bug)
// adds ymm1 into ymm0 and polls for the GO file with raw syscalls; the
// signal, the dump and the restore all happen while the values sit in the
// registers. Afterwards ymm0 must be count * ymm1 and the others unchanged.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  static uint64_t init[16][4] __attribute__((aligned(32)));
  static uint64_t out[16][4] __attribute__((aligned(32)));
  for (int r = 0; r < 16; ++r)
    for (int l = 0; l < 4; ++l) init[r][l] = 0x0101010101010101ULL * (uint64_t)(r + 1) + (uint64_t)l * 0x1000 + 7;
  for (int l = 0; l < 4; ++l) init[1][l] = (uint64_t)(l + 1);
  static const struct timespec nap = {0, 1000000};
  const char* go = argv[2];
  uint64_t count = 0;
  gate_announce(argv[1]);
  __asm__ volatile(
      "vmovdqa 0x20(%[in]), %%ymm1\n\t"
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovdqa 0x40(%[in]), %%ymm2\n\t"
      "vmovdqa 0x60(%[in]), %%ymm3\n\t"
      "vmovdqa 0x80(%[in]), %%ymm4\n\t"
      "vmovdqa 0xa0(%[in]), %%ymm5\n\t"
      "vmovdqa 0xc0(%[in]), %%ymm6\n\t"
      "vmovdqa 0xe0(%[in]), %%ymm7\n\t"
      "vmovdqa 0x100(%[in]), %%ymm8\n\t"
      "vmovdqa 0x120(%[in]), %%ymm9\n\t"
      "vmovdqa 0x140(%[in]), %%ymm10\n\t"
      "vmovdqa 0x160(%[in]), %%ymm11\n\t"
      "vmovdqa 0x180(%[in]), %%ymm12\n\t"
      "vmovdqa 0x1a0(%[in]), %%ymm13\n\t"
      "vmovdqa 0x1c0(%[in]), %%ymm14\n\t"
      "vmovdqa 0x1e0(%[in]), %%ymm15\n\t"
      "xor %%r12, %%r12\n\t"
      "1:\n\t"
      "vpaddq %%ymm1, %%ymm0, %%ymm0\n\t"
      "inc %%r12\n\t"
      "mov $35, %%eax\n\t"  // nanosleep(&nap, 0)
      "mov %[nap], %%rdi\n\t"
      "xor %%esi, %%esi\n\t"
      "syscall\n\t"
      "mov $21, %%eax\n\t"  // access(go, F_OK)
      "mov %[go], %%rdi\n\t"
      "xor %%esi, %%esi\n\t"
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1b\n\t"
      "vmovdqa %%ymm0, 0x0(%[out])\n\t"
      "vmovdqa %%ymm1, 0x20(%[out])\n\t"
      "vmovdqa %%ymm2, 0x40(%[out])\n\t"
      "vmovdqa %%ymm3, 0x60(%[out])\n\t"
      "vmovdqa %%ymm4, 0x80(%[out])\n\t"
      "vmovdqa %%ymm5, 0xa0(%[out])\n\t"
      "vmovdqa %%ymm6, 0xc0(%[out])\n\t"
      "vmovdqa %%ymm7, 0xe0(%[out])\n\t"
      "vmovdqa %%ymm8, 0x100(%[out])\n\t"
      "vmovdqa %%ymm9, 0x120(%[out])\n\t"
      "vmovdqa %%ymm10, 0x140(%[out])\n\t"
      "vmovdqa %%ymm11, 0x160(%[out])\n\t"
      "vmovdqa %%ymm12, 0x180(%[out])\n\t"
      "vmovdqa %%ymm13, 0x1a0(%[out])\n\t"
      "vmovdqa %%ymm14, 0x1c0(%[out])\n\t"
      "vmovdqa %%ymm15, 0x1e0(%[out])\n\t"
      "mov %%r12, %[count]\n\t"
      "vzeroupper\n\t"
      : [count] "=m"(count)
      : [in] "r"(init), [out] "r"(out), [go] "r"(go), [nap] "r"(&nap)
      : "rax", "rcx", "r11", "rdi", "rsi", "r12", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
        "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
  int bad = 0;
  for (int l = 0; l < 4; ++l)
    if (out[0][l] != count * (uint64_t)(l + 1)) ++bad, printf("ymm0 lane %d wrong\n", l);
  for (int r = 1; r < 16; ++r)
    if (memcmp(out[r], init[r], 32) != 0) ++bad, printf("ymm%d changed\n", r);
  printf("vector registers %s\n", bad ? "CORRUPTED" : "intact");
  return bad ? 1 : 0;
}
