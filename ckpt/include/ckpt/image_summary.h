// What the tools around a checkpoint (the auto interval, calibrate, run
// --resume, flatten) read of an image: a lenient reader of its manifest that
// still holds the format's two rules, its version and its own checksum. The
// restore itself reads every field strictly (restart/src/read_manifest.cpp),
// with the same two rules from here.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ckptsim::ckpt {

struct ImageSummary {
  int version = 0;
  unsigned long seq = 0;
  bool has_stopped = false;  // the library recorded stopped_ns
  uint64_t stopped_ns = 0;    // how long the dump stopped the job
  uint64_t core_size = 0;
  bool has_written = false;  // the dump's own account ("written", with memory_bytes), from libraries that keep one
  bool incremental = false;
  uint64_t memory_bytes = 0, full_memory_bytes = 0;
  std::string parent;  // the parent image's name (version 3), else empty
  int chain = 0;
  std::string program_path;
  std::vector<std::string> argv;
};

// IMAGE/manifest.json (opened without following links, at most 64 MiB):
// format name, a supported version and, from version 2, its own checksum.
// Throws CkptError saying what is wrong otherwise ("no manifest.json",
// "manifest.json: checksum mismatch ..."); the caller names the image.
ImageSummary read_image_summary(const std::filesystem::path& image);

// The checksum rule: a manifest ends with ,"manifest_xxh3":"<XXH3 of every
// byte before that key>"}. "" when `text` holds it, else what is wrong.
std::string own_checksum_problem(const std::string& text);
// A manifest's text given without its closing '}', sealed with that checksum.
std::string seal_manifest(std::string open_object);

}  // namespace ckptsim::ckpt
