// Parsing the sweep's grid and shard specs: every bad spec is one SweepError line.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim/sweep.h"

namespace ckptsim::sim {

namespace {

// A grid this large is a typo (a tiny STEP), not a sweep anyone can wait for.
constexpr std::size_t kMaxGridPoints = 10000;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) return parts;
    start = pos + 1;
  }
}

double parse_seconds(const std::string& text, const std::string& spec) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (text.empty() || end != begin + text.size() || errno == ERANGE || !std::isfinite(v))
    throw SweepError("bad interval grid '" + spec + "': '" + text + "' is not a number of seconds");
  return v;
}

int parse_count(const std::string& text, const std::string& spec) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(begin, &end, 10);
  if (text.empty() || end != begin + text.size() || errno == ERANGE || v < -1000000 || v > 1000000)
    throw SweepError("bad shard spec '" + spec + "': expected K/N, e.g. 1/4");
  return static_cast<int>(v);
}

}  // namespace

IntervalGrid parse_interval_grid(const std::string& spec) {
  IntervalGrid g;
  if (spec == "auto") {
    g.automatic = true;
    return g;
  }
  if (spec.empty()) throw SweepError("bad interval grid: empty (expected MIN:MAX[:STEP], a,b,c or auto)");
  if (spec.find(':') != std::string::npos) {
    const auto parts = split(spec, ':');
    if (parts.size() > 3) throw SweepError("bad interval grid '" + spec + "': expected MIN:MAX[:STEP]");
    const double lo = parse_seconds(parts[0], spec), hi = parse_seconds(parts[1], spec);
    if (lo <= 0) throw SweepError("bad interval grid '" + spec + "': intervals must be > 0");
    if (lo > hi) throw SweepError("bad interval grid '" + spec + "': MIN > MAX");
    double step = 0;
    if (parts.size() == 3) {
      step = parse_seconds(parts[2], spec);
      if (step <= 0) throw SweepError("bad interval grid '" + spec + "': STEP must be > 0");
    } else {
      step = (hi - lo) / 14;  // 15 evenly spaced values
    }
    if (lo == hi || step == 0) {
      g.values = {lo};
      return g;
    }
    if ((hi - lo) / step + 1 > kMaxGridPoints)
      throw SweepError("bad interval grid '" + spec + "': more than " + std::to_string(kMaxGridPoints) + " intervals");
    // Index times step rather than repeated addition, so no drift; the last
    // value is kept when rounding puts it a hair past MAX.
    for (std::size_t i = 0;; ++i) {
      const double v = lo + static_cast<double>(i) * step;
      if (v > hi * (1 + 1e-12)) break;
      g.values.push_back(std::fmin(v, hi));
    }
    return g;
  }
  for (const auto& item : split(spec, ',')) {
    if (item.empty()) throw SweepError("bad interval grid '" + spec + "': empty item in the list");
    const double v = parse_seconds(item, spec);
    if (v <= 0) throw SweepError("bad interval grid '" + spec + "': intervals must be > 0");
    g.values.push_back(v);
  }
  std::sort(g.values.begin(), g.values.end());
  g.values.erase(std::unique(g.values.begin(), g.values.end()), g.values.end());
  return g;
}

std::vector<double> auto_intervals(double center, int count, double lo, double hi) {
  if (!(center > 0) || !std::isfinite(center) || count < 1 || !(lo > 0) || !(hi >= lo))
    throw SweepError("auto interval grid needs a finite centre > 0");
  std::vector<double> v;
  if (count == 1) return {center};
  const double a = std::log(lo * center), b = std::log(hi * center);
  for (int i = 0; i < count; ++i) v.push_back(std::exp(a + (b - a) * i / (count - 1)));
  return v;
}

ShardSpec parse_shard(const std::string& spec) {
  const auto parts = split(spec, '/');
  if (parts.size() != 2) throw SweepError("bad shard spec '" + spec + "': expected K/N, e.g. 1/4");
  ShardSpec s{parse_count(parts[0], spec), parse_count(parts[1], spec)};
  if (s.n < 1) throw SweepError("bad shard spec '" + spec + "': N must be >= 1");
  if (s.k < 1 || s.k > s.n) throw SweepError("bad shard spec '" + spec + "': K must be between 1 and N");
  return s;
}

std::string to_string(PointKind k) {
  switch (k) {
    case PointKind::Baseline: return "baseline";
    case PointKind::Grid: return "grid";
    case PointKind::Young: return "young";
    case PointKind::Daly: return "daly";
    case PointKind::Single: return "single";
  }
  return "grid";
}

Format parse_format(const std::string& s) {
  if (s == "table") return Format::Table;
  if (s == "csv") return Format::Csv;
  if (s == "json") return Format::Json;
  throw SweepError("unknown format '" + s + "' (expected table, csv or json)");
}

}  // namespace ckptsim::sim
