// Case V placements by name, and the rules that tie --spares to them.
#include <stdexcept>
#include <string>

#include "sim/simulate.h"

namespace ckptsim::sim {

const char* to_string(VPlacement p) {
  switch (p) {
    case VPlacement::Share: return "share";
    case VPlacement::Queue: return "queue";
    case VPlacement::Spare: return "spare";
  }
  return "?";
}

VPlacement parse_v_placement(const std::string& s) {
  for (VPlacement p : {VPlacement::Share, VPlacement::Queue, VPlacement::Spare})
    if (s == to_string(p)) return p;
  throw std::invalid_argument("unknown --v-placement '" + s + "' (expected " + kVPlacementNames + ")");
}

void set_v_placement(Scenario& s, const std::string& placement, std::optional<int> spares) {
  try {
    s.v_placement = placement.empty() ? kDefaultVPlacement : parse_v_placement(placement);
  } catch (const std::invalid_argument& e) {
    throw SimError(e.what());
  }
  if (spares && *spares < 0) throw SimError("--spares must not be negative");
  if (s.v_placement != VPlacement::Spare && spares) throw SimError("--spares needs --v-placement spare");
  s.spares = s.v_placement != VPlacement::Spare ? 0 : spares ? *spares : kDefaultSpares;
  check_v_placement(s.v_placement, s.spares);
}

void check_v_placement(VPlacement placement, int spares) {
  if (spares < 0) throw SimError("--spares must not be negative");
  if (placement == VPlacement::Spare && spares < 1)
    throw SimError("--v-placement spare needs at least 1 spare node (--spares)");
  if (placement != VPlacement::Spare && spares != 0) throw SimError("--spares needs --v-placement spare");
}

std::string describe_v_placement(const Scenario& s) {
  if (s.v_placement != VPlacement::Spare) return to_string(s.v_placement);
  return "spare (" + std::to_string(s.spares) + (s.spares == 1 ? " spare node)" : " spare nodes)");
}

}  // namespace ckptsim::sim
