// A list that keeps its first N elements inside itself and moves to the heap
// only beyond them. An attempt told ahead (attempt_ahead.h) is built for
// every job at scale (when its node's run is armed; it used to be built again
// when the run ended) and has a
// couple of changes and story times: as std::vectors those were three heap
// blocks per attempt, and at 100,000 nodes with failures (case IV) perf
// found glibc serving them from its bins rather than its per-thread cache,
// the largest single cost of the run (docs/simulating.md, "At scale").
#pragma once
#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

namespace ckptsim::sim {

template <class T, std::size_t N>
class InlineList {
  static_assert(std::is_trivially_copyable_v<T>, "elements are copied as plain values");

 public:
  void push_back(const T& v) {
    if (more_.empty() && size_ < N) {
      first_[size_++] = v;
      return;
    }
    if (more_.empty()) more_.assign(first_, first_ + size_);
    more_.push_back(v);
    ++size_;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T* begin() const { return more_.empty() ? first_ : more_.data(); }
  const T* end() const { return begin() + size_; }
  const T& back() const { return begin()[size_ - 1]; }

 private:
  T first_[N];
  std::size_t size_ = 0;
  std::vector<T> more_;  // all of them, once there are more than N
};

}  // namespace ckptsim::sim
