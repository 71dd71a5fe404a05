// A chdir during the run: the restored process must be in the directory it
// had changed to, so relative paths keep meaning the same thing.
// Run in a directory holding a/ and b/.
#include <stdio.h>
#include <unistd.h>

#include "gate.h"

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  if (chdir("a") != 0) return 1;
  FILE* f = fopen("f1", "w");
  if (!f) return 1;
  for (int i = 0; i < 500; ++i) fprintf(f, "a %d\n", i);
  gate(argv[1], argv[2]);
  for (int i = 500; i < 1000; ++i) fprintf(f, "a %d\n", i);
  fclose(f);
  FILE* g = fopen("../b/f2", "w");
  if (!g) return 1;
  char cwd[4096];
  if (!getcwd(cwd, sizeof cwd)) return 1;
  const char* last = cwd;
  for (const char* p = cwd; *p; ++p)
    if (*p == '/') last = p + 1;
  fprintf(g, "written from %s\n", last);
  return fclose(g) == 0 ? 0 : 1;
}
