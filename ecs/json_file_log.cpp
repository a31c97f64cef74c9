#include "ecs/json_file_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <deque>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::ecs {

const char* to_string(LogStream s) { return s == LogStream::stdout_ ? "stdout" : "stderr"; }

std::optional<int64_t> parse_log_size(std::string_view s) {
  // Docker (go-units RAMInBytes): "<number>[ ][kmgtp][i][b]", case-insensitive, 1024-based.
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0 || s[0] == '.') return std::nullopt;
  double value;
  try {
    value = std::stod(std::string(s.substr(0, i)));
  } catch (...) {
    return std::nullopt;
  }
  std::string rest;
  for (char c : s.substr(i)) rest += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  double unit = 1;
  static const std::string units = "kmgtp";
  if (!rest.empty() && units.find(rest[0]) != std::string::npos) {
    // 1024^n without libm's pow (see the Makefile's --as-needed).
    unit = 1;
    for (size_t i = 0; i <= units.find(rest[0]); ++i) unit *= 1024.0;
    rest.erase(0, 1);
  }
  if (rest == "i" || rest == "ib" || rest == "b" || rest.empty()) return static_cast<int64_t>(value * unit);
  return std::nullopt;
}

std::string format_rfc3339nano(const timespec& t) {
  struct tm tm;
  time_t sec = t.tv_sec;
  gmtime_r(&sec, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (t.tv_nsec != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, "%09ld", static_cast<long>(t.tv_nsec));
    std::string f = frac;
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += "." + f;
  }
  return out + "Z";
}

namespace {

// Length of the valid UTF-8 sequence at s[i], 0 if invalid (as Go's utf8.DecodeRune).
size_t utf8_length(std::string_view s, size_t i, uint32_t& cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t len;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::string docker_json_string(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
        out += static_cast<char>(c);
      } else if (c == '\\' || c == '"') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t len = utf8_length(s, i, cp);
    if (len == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      out += "\\u202";
      out += hex[cp & 0xF];
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  out += '"';
  return out;
}

std::string encode_log_entry(std::string_view log, LogStream stream, const timespec& t) {
  // Field order and omission of an empty "log" as Docker's jsonlog marshaller.
  std::string out = "{";
  if (!log.empty()) out += "\"log\":" + docker_json_string(log) + ",";
  out += "\"stream\":\"";
  out += to_string(stream);
  out += "\",\"time\":\"" + format_rfc3339nano(t) + "\"}";
  return out;
}

JsonFileLogWriter::JsonFileLogWriter(std::string path, JsonFileLogOptions opts,
                                     std::function<timespec()> clock)
    : path_(std::move(path)), opts_(opts), clock_(std::move(clock)) {
  if (!clock_) {
    clock_ = [] {
      timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      return ts;
    };
  }
  open_file();
}

JsonFileLogWriter::~JsonFileLogWriter() {
  try {
    close();
  } catch (...) {
    // A destructor cannot report; close() explicitly to see errors.
  }
}

void JsonFileLogWriter::open_file() {
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) throw_errno("open " + path_);
  fd_.reset(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) throw_errno("stat " + path_);
  size_ = st.st_size;
}

void JsonFileLogWriter::rotate() {
  if (opts_.max_file < 2) {
    if (ftruncate(fd_.get(), 0) != 0) throw_errno("truncate " + path_);
    size_ = 0;
    return;
  }
  for (int i = opts_.max_file - 1; i > 1; --i) {
    std::string from = path_ + "." + std::to_string(i - 1), to = path_ + "." + std::to_string(i);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) throw_errno("rename " + from + " to " + to);
  }
  std::string first = path_ + ".1";
  if (::rename(path_.c_str(), first.c_str()) != 0) throw_errno("rename " + path_ + " to " + first);
  open_file();
}

void JsonFileLogWriter::emit(LogStream stream, std::string_view log) {
  if (!fd_) throw Error("write " + path_ + ": log file is closed");
  // Like Docker: rotate before a write once the file has reached max-size.
  if (opts_.max_size_bytes > 0 && size_ >= opts_.max_size_bytes) rotate();
  std::string line = encode_log_entry(log, stream, clock_()) + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd_.get(), line.data() + off, line.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write " + path_);
    }
    off += static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(line.size());
}

void JsonFileLogWriter::write(LogStream stream, std::string_view data) {
  std::string& buf = pending_[static_cast<int>(stream)];
  buf.append(data);
  size_t start = 0;
  while (start < buf.size()) {
    size_t window = std::min(buf.size() - start, kMaxLine);
    size_t nl = buf.find('\n', start);
    if (nl != std::string::npos && nl - start < kMaxLine) {
      emit(stream, std::string_view(buf).substr(start, nl - start + 1));
      start = nl + 1;
    } else if (window == kMaxLine) {
      // 16 KiB without a newline: a partial piece, as Docker's copier sends it.
      emit(stream, std::string_view(buf).substr(start, kMaxLine));
      start += kMaxLine;
    } else {
      break;
    }
  }
  buf.erase(0, start);
}

void JsonFileLogWriter::flush_partial(LogStream stream) {
  std::string& buf = pending_[static_cast<int>(stream)];
  if (buf.empty()) return;
  std::string rest = std::move(buf);
  buf.clear();
  emit(stream, rest);
}

void JsonFileLogWriter::close() {
  if (!fd_) return;
  flush_partial(LogStream::stdout_);
  flush_partial(LogStream::stderr_);
  fd_.reset();
}

std::vector<LogEntry> read_json_file_log(const std::string& path, int max_file, size_t tail) {
  std::vector<std::string> files;
  for (int i = 1; i < max_file; ++i) {
    std::string rotated = path + "." + std::to_string(i);
    if (!fs::exists(rotated)) break;
    files.insert(files.begin(), rotated);
  }
  files.push_back(path);
  std::deque<LogEntry> out;
  for (const auto& file : files) {
    auto text = fs::read_file_if_exists(file);
    if (!text) continue;
    size_t start = 0;
    while (start < text->size()) {
      size_t nl = text->find('\n', start);
      if (nl == std::string::npos) break;  // a line still being written
      auto j = nlohmann::json::parse(text->begin() + static_cast<long>(start),
                                     text->begin() + static_cast<long>(nl), nullptr, false);
      start = nl + 1;
      if (!j.is_object() || !j.contains("stream") || !j["stream"].is_string()) continue;
      LogEntry e;
      if (j.contains("log") && j["log"].is_string()) e.log = j["log"].get<std::string>();
      e.stream = j["stream"].get<std::string>();
      if (j.contains("time") && j["time"].is_string()) e.time = j["time"].get<std::string>();
      out.push_back(std::move(e));
      if (tail > 0 && out.size() > tail) out.pop_front();
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace ecsa::ecs
