// Common random numbers: every draw comes from a stream named by
// (seed, order, replication, node, job), never by the case or the checkpoint
// policy, so cases and intervals see the same failures.
#pragma once
#include <cmath>
#include <cstdint>

namespace ckptsim::sim {

class RandomStream {
 public:
  // job = -1 names the node's own failure stream (--mtbf).
  RandomStream(uint64_t seed, int order, int replication, int node, int job) {
    state_ = mix(seed);
    for (uint64_t part : {uint64_t(order), uint64_t(replication), uint64_t(node), uint64_t(int64_t(job))})
      state_ = mix(state_ ^ mix(part + 0x9e3779b97f4a7c15ULL));
  }

  // Uniform in the open interval (0, 1).
  double uniform() { return (double(next() >> 11) + 0.5) * 0x1.0p-53; }

  // Time to the next failure for a renewal process with this mean: exponential
  // for shape 1, Weibull otherwise (scale chosen so that the mean is kept).
  double time_to_failure(double mean, double weibull_shape) {
    const double e = -std::log(uniform());
    if (weibull_shape == 1.0) return mean * e;
    const double scale = mean / std::tgamma(1.0 + 1.0 / weibull_shape);
    return scale * std::pow(e, 1.0 / weibull_shape);
  }

 private:
  // splitmix64 (Steele, Lea, Flood 2014): a full-period generator whose output
  // function is also a good 64-bit mixer.
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t next() { return mix(state_ += 0x9e3779b97f4a7c15ULL); }

  uint64_t state_;
};

}  // namespace ckptsim::sim
