// Socket plumbing shared by the sender and the receiver (private to calib).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "calib/transfer.h"
#include "util/owned_fd.h"

namespace ckptsim::calib {

inline constexpr char kMagic[8] = {'C', 'K', 'X', 'F', 'E', 'R', '0', '1'};
inline constexpr uint64_t kMaxHeaderBytes = 16u << 20;

bool is_safe_relative_path(const std::string& p);

// Blocking connect with a timeout; throws TransferError "cannot reach HOST:PORT: why".
util::OwnedFd connect_to(const Endpoint& to, std::chrono::milliseconds timeout);
// Full write/read with a per-call inactivity timeout; false on EOF/timeout/error
// (errno says which; ETIMEDOUT for a timeout, 0 for EOF). Stops on the stop flag (EINTR).
// They sit beside util::write_all/read_all rather than on them: the socket is
// non-blocking and each wait is a poll that gives up after `idle` or on Ctrl-C,
// so a dead peer cannot hang the calibration (util's block until done).
bool write_all(int fd, const void* buf, size_t len, std::chrono::milliseconds idle);
bool read_all(int fd, void* buf, size_t len, std::chrono::milliseconds idle);
// Reads one line (up to '\n', at most max bytes).
bool read_line(int fd, std::string& line, size_t max, std::chrono::milliseconds idle);

}  // namespace ckptsim::calib
