// printf for the fits' explanations (up to three numbers), shared by fit.cpp
// and build_profile.cpp.
#pragma once
#include <string>

namespace ckptsim::calib {

std::string fmt(const char* f, double a, double b = 0, double c = 0);

}  // namespace ckptsim::calib
