// Container logs in Docker's json-file format, so that tools made for Docker hosts
// (fluent-bit's docker parser, the CloudWatch agent, `docker logs`-style readers) can tail
// them: one {"log":"...\n","stream":"stdout","time":"<RFC3339Nano>"} object per line,
// lines longer than 16 KiB split like Docker (partial pieces without "\n"), size rotation
// file.log -> file.log.1 -> ... like max-size/max-file.
#pragma once
#include <time.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.hpp"

namespace ecsa::ecs {

enum class LogStream { stdout_, stderr_ };
const char* to_string(LogStream s);

// Docker's size strings (max-size): "10m", "1.5k", "2GB", "100" (bytes), binary units.
// std::nullopt if not a size.
std::optional<int64_t> parse_log_size(std::string_view s);

// Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped, no fraction if 0.
std::string format_rfc3339nano(const timespec& t);

// The JSON string of `bytes` as Docker writes it: \n \r \" \\ escaped, other control
// characters and < > & as \u00XX, invalid UTF-8 as \ufffd, U+2028/2029 escaped.
std::string docker_json_string(std::string_view bytes);

// One line of the file, without the trailing newline.
std::string encode_log_entry(std::string_view log, LogStream stream, const timespec& t);

struct JsonFileLogOptions {
  int64_t max_size_bytes = -1;  // -1: never rotate
  int max_file = 1;             // files kept, the live one included
};

// One writer per container log file, fed from one thread (not thread-safe).
class JsonFileLogWriter {
 public:
  static constexpr size_t kMaxLine = 16 * 1024;  // Docker's copier buffer size

  // Opens (creates, appends to) `path`. `clock` is for tests; default CLOCK_REALTIME.
  JsonFileLogWriter(std::string path, JsonFileLogOptions opts,
                    std::function<timespec()> clock = {});
  ~JsonFileLogWriter();
  JsonFileLogWriter(const JsonFileLogWriter&) = delete;
  JsonFileLogWriter& operator=(const JsonFileLogWriter&) = delete;

  // Bytes read from the container's stdout or stderr; complete lines are written at
  // once, the rest waits for its newline (or for 16 KiB, or for close()).
  void write(LogStream stream, std::string_view data);
  // Writes what waits without a newline (end of the stream), as Docker does at EOF.
  void flush_partial(LogStream stream);
  // flush_partial on both streams and close the file.
  void close();

  const std::string& path() const { return path_; }

 private:
  void emit(LogStream stream, std::string_view log);
  void rotate();
  void open_file();

  std::string path_;
  JsonFileLogOptions opts_;
  std::function<timespec()> clock_;
  UniqueFd fd_;
  int64_t size_ = 0;
  std::string pending_[2];
};

struct LogEntry {
  std::string log;     // with its "\n" unless it was a partial piece
  std::string stream;  // "stdout" | "stderr"
  std::string time;    // as written
};

// Reads `path` and its rotated files (oldest first: path.N-1 ... path.1, path), skipping
// lines that are not valid entries (a line being written). tail > 0: only the last tail.
std::vector<LogEntry> read_json_file_log(const std::string& path, int max_file = 1000,
                                         size_t tail = 0);

}  // namespace ecsa::ecs
