// Diagnostic log: stderr by default, or the --log file in text or JSON lines
// ({"level","msg","time"} as runc writes them, which containerd's shim reads).
#pragma once
#include <string>

namespace ecsa::log {

enum class Level { debug, info, warn, error };

// Opens `path` for appending (empty: stderr). Throws Error on failure.
void configure(const std::string& path, bool json_format, bool debug);
bool debug_enabled();

void write(Level level, const std::string& msg);
inline void debug(const std::string& msg) {
  if (debug_enabled()) write(Level::debug, msg);
}
inline void info(const std::string& msg) { write(Level::info, msg); }
inline void warn(const std::string& msg) { write(Level::warn, msg); }
inline void error(const std::string& msg) { write(Level::error, msg); }

}  // namespace ecsa::log
