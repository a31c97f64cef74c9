#include "common/log.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace ecsa::log {

namespace {
int g_fd = 2;
bool g_json = false;
bool g_debug = false;

const char* level_name(Level l) {
  switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
  }
  return "info";
}

}  // namespace

void configure(const std::string& path, bool json_format, bool debug) {
  g_json = json_format;
  g_debug = debug;
  if (!path.empty()) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw_errno("open log file " + path);
    g_fd = fd;
  }
}

bool debug_enabled() { return g_debug; }

void write(Level level, const std::string& msg) {
  std::string line;
  if (g_json) {
    line = nlohmann::json{{"level", level_name(level)}, {"msg", msg}, {"time", now_rfc3339()}}.dump();
  } else if (g_fd == 2) {
    line = std::string("ecsa-run: ") + (level == Level::error ? "" : std::string(level_name(level)) + ": ") + msg;
  } else {
    line = now_rfc3339() + " " + level_name(level) + " " + msg;
  }
  line += '\n';
  // One write per line so concurrent writers do not interleave within a line.
  ssize_t r = ::write(g_fd, line.data(), line.size());
  (void)r;
}

}  // namespace ecsa::log
