// What calibrate.cpp (the options) and calibration_run.cpp (the run) both
// ask of this machine: whether an order fits in memory, said in MB.
#pragma once
#include <cstdint>
#include <string>

namespace ckptsim::calib {

std::string mb(double bytes);
// Job + restored job of order n, the image's pages in the cache and a margin.
bool fits_in_memory(int order, uint64_t& need);
// An uninterrupted run of order n: the job alone, with the same margin.
bool fits_alone(int order, uint64_t& need);
// "WHAT ORDER needs about N MB of memory, only M MB available (MemAvailable)".
std::string too_big(const std::string& what, int order, uint64_t need);

}  // namespace ckptsim::calib
