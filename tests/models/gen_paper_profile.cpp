// Regenerates data/profiles/paper-p4.json until `ckptsim calibrate --from-table`
// exists: gen_paper_profile TABLE.csv OUT.json
#include <iostream>

#include "models/profile.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: gen_paper_profile TABLE.csv OUT.json\n";
    return 2;
  }
  try {
    ckptsim::models::save_profile(ckptsim::models::profile_from_paper_table(argv[1]), argv[2]);
  } catch (const std::exception& e) {
    std::cerr << "gen_paper_profile: " << e.what() << "\n";
    return 2;
  }
}
