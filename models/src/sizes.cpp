// Matrix-order specs: "A:B", "A:B:STEP" or "a,b,c".
#include <cctype>

#include "models/profile.h"

namespace ckptsim::models {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  return parts;
}

long positive(const std::string& spec, const std::string& token, const char* what) {
  if (token.empty()) throw ProfileError("sizes '" + spec + "': empty " + what);
  size_t used = 0;
  long v = 0;
  try {
    v = std::stol(token, &used);
  } catch (const std::exception&) {
    throw ProfileError("sizes '" + spec + "': '" + token + "' is not a whole number");
  }
  if (used != token.size())
    throw ProfileError("sizes '" + spec + "': '" + token + "' is not a whole number");
  if (v <= 0) throw ProfileError("sizes '" + spec + "': " + what + " must be positive (got " + token + ")");
  if (v > 1000000) throw ProfileError("sizes '" + spec + "': " + what + " " + token + " is too large");
  return v;
}

}  // namespace

std::vector<int> parse_sizes(const std::string& raw, int default_step) {
  const std::string spec = trim(raw);
  if (spec.empty()) throw ProfileError("sizes: empty specification");
  std::vector<int> sizes;
  if (spec.find(':') != std::string::npos) {
    if (spec.find(',') != std::string::npos)
      throw ProfileError("sizes '" + spec + "': use either A:B[:STEP] or a,b,c, not both");
    auto parts = split(spec, ':');
    if (parts.size() > 3) throw ProfileError("sizes '" + spec + "': expected A:B or A:B:STEP");
    const long a = positive(spec, parts[0], "start");
    const long b = positive(spec, parts[1], "end");
    const long step = parts.size() == 3 ? positive(spec, parts[2], "step") : default_step;
    if (step <= 0) throw ProfileError("sizes '" + spec + "': step must be positive");
    if (a > b) throw ProfileError("sizes '" + spec + "': start " + parts[0] + " is greater than end " + parts[1]);
    for (long n = a; n <= b; n += step) sizes.push_back(static_cast<int>(n));
  } else {
    for (const auto& token : split(spec, ','))
      sizes.push_back(static_cast<int>(positive(spec, token, "size")));
  }
  return sizes;
}

}  // namespace ckptsim::models
