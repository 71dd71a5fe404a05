// C++ iostreams and exceptions: the checkpoint lands deep in a recursion whose
// exception is thrown and caught only after the restore.
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gate.h"

namespace {
const char* g_marker;
const char* g_go;

int descend(int depth, std::vector<std::string>& trail) {
  trail.push_back("level " + std::to_string(depth));
  if (depth == 0) {
    gate(g_marker, g_go);
    throw std::runtime_error("bottom reached after " + std::to_string(trail.size()) + " levels");
  }
  return descend(depth - 1, trail) + 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  g_marker = argv[1], g_go = argv[2];
  std::ofstream log(argv[3]);
  for (int i = 0; i < 2000; ++i) log << "before " << i << ' ' << i * 3.25 << '\n';
  std::cout << "started\n";
  std::vector<std::string> trail;
  try {
    descend(50, trail);
    std::cout << "no exception?\n";
  } catch (const std::exception& e) {
    std::cout << "caught: " << e.what() << '\n';
  }
  for (int i = 0; i < 2000; ++i) log << "after " << i << ' ' << trail[i % trail.size()] << '\n';
  try {
    throw std::logic_error("second");
  } catch (const std::logic_error& e) {
    std::cout << "caught again: " << e.what() << std::endl;
  }
  return log.good() ? 0 : 1;
}
