// `ckptsim image show`: what an image holds. A tree's processes come from
// tree.json, read with all its checks (not the processes' memory).
#include <cstdio>

#include "ckpt/control.h"
#include "ckpt/image_summary.h"
#include "image_files.h"
#include "tree.h"

namespace ckptsim::restart {
namespace {

std::vector<std::string> describe_tree(const std::filesystem::path& image) {
  const TreeImage tree = read_tree_manifest(image);
  size_t zombies = 0;
  for (const auto& p : tree.procs) zombies += p.zombie;
  std::vector<std::string> out;
  out.push_back(tree.files->dir().string() + ": process tree image " + std::to_string(tree.seq) + ", " +
                std::to_string(tree.procs.size()) + " processes (" + std::to_string(tree.procs.size() - zombies) +
                " live, " + std::to_string(zombies) + " zombie), root " + std::to_string(tree.root));
  char line[256];
  std::snprintf(line, sizeof line, "%8s %8s %8s %8s  %-13s %s", "PID", "PPID", "PGID", "SID", "STATE", "COMMAND");
  out.emplace_back(line);
  for (const auto& p : tree.procs) {
    const std::string state = p.zombie ? "zombie(" + std::to_string(p.exit_status) + ")" : "live";
    std::snprintf(line, sizeof line, "%8d %8d %8d %8d  %-13s %s", p.pid, p.ppid, p.pgid, p.sid, state.c_str(),
                  p.comm.c_str());
    out.emplace_back(line);
  }
  return out;
}

}  // namespace

std::vector<std::string> describe_image(const std::filesystem::path& image) {
  if (is_tree_image(image)) return describe_tree(image);
  const ImageFiles files(image);  // resolves DIR/latest, with the image's trust checks
  try {
    const ckpt::ImageSummary s = ckpt::read_image_summary(files.dir());
    return {files.dir().string() + ": single-process image " + std::to_string(s.seq) + ", " + s.program_path +
            (s.incremental ? ", incremental (parent " + s.parent + ")" : "") + ", core " +
            std::to_string(s.core_size) + " bytes"};
  } catch (const ckpt::CkptError& e) {
    throw ImageError(files.dir().string() + ": " + e.what());
  }
}

}  // namespace ckptsim::restart
