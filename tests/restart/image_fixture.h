// The image most bad-input tests start from: prog_stdio (run from a private
// copy of its executable) checkpointed at its gate and killed; its lines.txt
// then gets a line a restore would undo. expect_refused checks a refusal.
#pragma once
#include <nlohmann/json.hpp>

#include "harness.h"

namespace restart_test {

extern const char* kKilledRunMark;

struct Fixture {
  TempDir dir;
  fs::path exe, image;
  Fixture();
  nlohmann::json manifest() const;
  // Writes `j` as the manifest, with its own checksum (write_signed_manifest).
  void set_manifest(nlohmann::json j) const;
  void flip_byte(const fs::path& p, uint64_t offset) const;
  // The core offset of the largest dumped segment.
  uint64_t middle_of_largest_segment() const;
};

// The restart must fail with `status`, one line naming the problem, nothing
// left running, the image as it was and the job's files not restored.
void expect_refused(const Fixture& fx, const std::string& needle, int status = 2);

}  // namespace restart_test
