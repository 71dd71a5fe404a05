// `ckptsim receive`: the "other node" of a calibration: receives checkpoint
// images over TCP and verifies every checksum on arrival.
#include <filesystem>

#include "calib/transfer.h"
#include "commands.h"
#include "util/stop.h"

namespace ckptsim::cli {

void add_receive(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("receive", "Receive checkpoint images sent by calibrate (another node)");
  auto listen = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>("received-images");
  auto once = std::make_shared<bool>(false);
  cmd->add_option("--listen", *listen, "[ADDR:]PORT to listen on (ADDR defaults to 0.0.0.0; PORT 0 = any, announced on stdout)")
      ->required();
  cmd->add_option("--dir", *dir, "where received images land (DIR/<name>, 0700)")->capture_default_str();
  cmd->add_flag("--once", *once, "serve one transfer; exit 0 if its checksums matched, 1 if it was rejected");
  cmd->callback([&exit_code, listen, dir, once] {
    calib::ReceiveOptions opts;
    std::string spec = *listen;
    if (spec.find(':') == std::string::npos) spec = "0.0.0.0:" + spec;
    auto colon = spec.rfind(':');
    opts.listen_host = spec.substr(0, colon);
    const std::string port = spec.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) > 65535)
      throw Exit(2, "receive: bad --listen '" + *listen + "' (expected [ADDR:]PORT)");
    opts.port = static_cast<uint16_t>(std::stoul(port));
    opts.dir = *dir;
    opts.once = *once;
    util::install_stop_handlers();
    try {
      exit_code = calib::serve_images(opts);
    } catch (const calib::TransferError& e) {
      throw Exit(2, std::string("receive: ") + e.what());
    }
  });
}

}  // namespace ckptsim::cli
