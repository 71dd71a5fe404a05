// `ckptsim image flatten DIR [--out DIR2]`: a standalone full image (an ELF
// core gdb opens, a manifest without a parent) from an incremental image and
// its chain, or a copy of a full image. `ckptsim image show DIR`: what an
// image holds (a process tree's: one line per process).
#include <cstdio>

#include "commands.h"
#include "restart/restart.h"

namespace ckptsim::cli {

void add_image(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("image", "Work on checkpoint images");
  cmd->require_subcommand(1);
  auto* flatten = cmd->add_subcommand(
      "flatten", "Write a standalone full image of DIR (an incremental image with its parents assembled)");
  auto image = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  flatten->add_option("image", *image, "image directory, or DIR/latest")->required();
  flatten->add_option("--out", *out, "new directory for the full image (default: beside it, NAME-full)");
  flatten->callback([&exit_code, image, out] {
    try {
      const auto written = restart::flatten_image(*image, *out);
      std::printf("%s\n", written.c_str());
    } catch (const restart::ImageError& e) {
      throw Exit(2, std::string("image flatten: ") + e.what());
    } catch (const restart::FlattenError& e) {
      throw Exit(1, std::string("image flatten: ") + e.what());
    }
    exit_code = 0;
  });
  auto* show = cmd->add_subcommand("show", "Say what an image holds (a process tree's image: its processes)");
  auto shown = std::make_shared<std::string>();
  show->add_option("image", *shown, "image directory, or DIR/latest")->required();
  show->callback([&exit_code, shown] {
    try {
      for (const auto& line : restart::describe_image(*shown)) std::printf("%s\n", line.c_str());
    } catch (const restart::ImageError& e) {
      throw Exit(2, std::string("image show: ") + e.what());
    }
    exit_code = 0;
  });
}

}  // namespace ckptsim::cli
