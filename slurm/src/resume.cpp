// Picking the image a requeued job resumes from, and resuming or starting it.
#include <algorithm>
#include <cstdio>

#include "ckpt/control.h"
#include "ckpt/image_summary.h"
#include "restart/restart.h"
#include "restart/restore_lock.h"
#include "slurm/resume.h"

namespace fs = std::filesystem;

namespace ckptsim::slurm {

namespace {

std::string command_line(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

struct Program {
  fs::path path;
  std::vector<std::string> argv;
};

// The program an image is of, from its manifest; throws std::exception with why
// when the manifest is missing, damaged, of another format version or names
// no program (a torn or damaged image).
Program image_program(const fs::path& image) {
  const ckpt::ImageSummary s = ckpt::read_image_summary(image);
  if (s.program_path.empty() || s.argv.empty()) throw std::runtime_error("the manifest names no program");
  return {s.program_path, s.argv};
}

// DIR/latest's image first, then every ckpt-NNNN from the highest down.
std::vector<fs::path> candidates(const fs::path& dir, std::vector<std::string>& notes) {
  std::vector<std::pair<unsigned long, fs::path>> numbered;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(image_format::kPartialPrefix, 0) == 0)
      notes.push_back((dir / name).string() + " is a half-written image; ignored");
    else if (unsigned long n = ckpt::image_number(name); n > 0 && e.is_directory())
      numbered.emplace_back(n, e.path());
  }
  std::sort(numbered.rbegin(), numbered.rend());
  std::vector<fs::path> out;
  const fs::path latest = dir / image_format::kLatest;
  if (fs::is_symlink(latest, ec)) {
    const fs::path target = fs::read_symlink(latest, ec);
    if (!ec && ckpt::image_number(target.string()) > 0 && fs::is_directory(dir / target, ec))
      out.push_back(dir / target);
    else
      notes.push_back(latest.string() + " points at " + target.string() + ", which is not a complete image");
  }
  for (const auto& [n, path] : numbered)
    if (std::find(out.begin(), out.end(), path) == out.end()) out.push_back(path);
  return out;
}

void note(const std::string& line) { std::fprintf(stderr, "ckptsim: run: %s\n", line.c_str()); }

}  // namespace

ResumePlan plan_resume(const fs::path& dir_in, const std::vector<std::string>& argv) {
  ResumePlan plan;
  if (argv.empty()) throw ckpt::CkptError("no program given");
  const fs::path dir = fs::absolute(dir_in).lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    plan.notes.push_back("no image in " + dir.string() + " yet; starting " + argv[0] + " afresh");
    return plan;
  }
  const fs::path exe = fs::weakly_canonical(ckpt::resolve_program(argv[0]), ec);
  bool first = true;
  for (const fs::path& image : candidates(dir, plan.notes)) {
    Program p;
    try {
      p = image_program(image);
    } catch (const std::exception& e) {
      plan.notes.push_back(image.string() + " is incomplete or damaged (" + e.what() + "); passed over");
      continue;
    }
    if (p.argv != argv || fs::weakly_canonical(p.path, ec) != exe) {
      if (first)
        throw OtherCommand("--resume: " + image.string() + " is an image of '" + command_line(p.argv) + "' (" +
                           p.path.string() + "), not of '" + command_line(argv) + "' (" + exe.string() +
                           "); use another --dir");
      plan.notes.push_back(image.string() + " is of another command; passed over");
      continue;
    }
    first = false;
    plan.images.push_back(image);
  }
  if (plan.images.empty())
    plan.notes.push_back("no complete image in " + dir.string() + "; starting " + argv[0] + " afresh");
  return plan;
}

int run_or_resume(const ckpt::RunOptions& opts) {
  const ResumePlan plan = plan_resume(opts.dir, opts.argv);
  for (const auto& line : plan.notes) note(line);
  for (size_t i = 0; i < plan.images.size(); ++i) {
    ckpt::RelayMask mask(opts.signal);  // before the restore: a SIGTERM meanwhile waits for supervise
    restart::RestartOptions ro;
    ro.image = plan.images[i];
    pid_t pid;
    try {
      pid = restart::restore_process(ro);
    } catch (const restart::ImageError& e) {
      note(plan.images[i].string() + " fails verification (" + e.what() + "); " +
           (i + 1 < plan.images.size() ? "trying " + plan.images[i + 1].string()
                                       : "starting " + opts.argv[0] + " afresh"));
      continue;
    }
    note("resumed from " + plan.images[i].string() + " (pid " + std::to_string(pid) + ")");
    // restore_process refused (RestoreBusy) if a restore of this chain runs; once this job has
    // ended its claim is cleared (a requeued run on another node need not wait for this host).
    const int status = ckpt::supervise(pid, opts);
    restart::restore_ended(pid);
    return status;
  }
  return ckpt::run_preloaded(opts);
}

}  // namespace ckptsim::slurm
