/* A statically linked program: `ckptsim run` must refuse it. */
#include <stdio.h>
int main(void) { puts("static hello"); return 0; }
