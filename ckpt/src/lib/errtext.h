// errno -> short text, usable in a signal handler (strerror is not).
#pragma once

namespace ckptlib {
// Returns a static string such as "No space left on device"; "error N" style
// fallback text is written into `fallback` (at least 24 bytes).
const char* errno_text(int err, char* fallback);
}  // namespace ckptlib
