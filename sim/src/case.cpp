// The paper's five cases (and IIIp) by name.
#include "sim/simulate.h"

namespace ckptsim::sim {

std::string to_string(Case c) {
  switch (c) {
    case Case::I: return "I";
    case Case::II: return "II";
    case Case::III: return "III";
    case Case::IIIp: return "IIIp";
    case Case::IV: return "IV";
    case Case::V: return "V";
  }
  return "?";
}

Case parse_case(const std::string& s) {
  for (Case c : all_cases())
    if (s == to_string(c)) return c;
  throw SimError("unknown case '" + s + "' (expected I, II, III, IIIp, IV, V or all)");
}

std::vector<Case> parse_case_list(const std::string& spec) {
  if (spec == "all") return all_cases();
  std::vector<Case> cases;
  std::string item;
  for (size_t i = 0; i <= spec.size(); ++i) {
    if (i == spec.size() || spec[i] == ',') {
      const Case c = parse_case(item);
      for (Case seen : cases)
        if (seen == c) throw SimError("case " + item + " is given twice in '" + spec + "'");
      cases.push_back(c);
      item.clear();
    } else {
      item += spec[i];
    }
  }
  return cases;
}

std::vector<Case> all_cases() { return {Case::I, Case::II, Case::III, Case::IIIp, Case::IV, Case::V}; }
bool takes_checkpoints(Case c) { return c == Case::II || c == Case::IV || c == Case::V; }
bool has_failures(Case c) { return c != Case::I && c != Case::II; }

}  // namespace ckptsim::sim
