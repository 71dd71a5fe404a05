// printf-style formatting into a std::string: the reports line numbers up in
// columns with printf widths, which iostream manipulators spell at length.
#pragma once
#include <string>

namespace ckptsim::util {

// As snprintf, but the result is as long as it needs to be.
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace ckptsim::util
