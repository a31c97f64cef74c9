// Docker json-file logs: encoding, escaping, partial lines, 16 KiB split, rotation, reader.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "ecs/json_file_log.hpp"

using namespace ecsa::ecs;

namespace {

// A temporary directory removed at the end of the test, even when it fails.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ecsa-ecs-log-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { ecsa::fs::remove_all(path); }
};

// A clock that advances 1 ns per call from a fixed instant.
std::function<timespec()> fake_clock() {
  auto t = std::make_shared<timespec>(timespec{1700000000, 0});
  return [t] {
    timespec now = *t;
    t->tv_nsec += 1;
    return now;
  };
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::string text = ecsa::fs::read_file(path);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    REQUIRE(nl != std::string::npos);  // every entry ends with a newline
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("ecs log: RFC3339Nano like Go", "[unit][ecs]") {
  REQUIRE(format_rfc3339nano({1700000000, 0}) == "2023-11-14T22:13:20Z");
  REQUIRE(format_rfc3339nano({1700000000, 123456789}) == "2023-11-14T22:13:20.123456789Z");
  REQUIRE(format_rfc3339nano({1700000000, 120000000}) == "2023-11-14T22:13:20.12Z");
  REQUIRE(format_rfc3339nano({0, 1}) == "1970-01-01T00:00:00.000000001Z");
}

TEST_CASE("ecs log: escaping as Docker's jsonlog", "[unit][ecs]") {
  REQUIRE(docker_json_string("plain text") == "\"plain text\"");
  REQUIRE(docker_json_string("a\"b\\c\n\r\t") == "\"a\\\"b\\\\c\\n\\r\\u0009\"");
  REQUIRE(docker_json_string("<a href='x'>&</a>") == "\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\"");
  REQUIRE(docker_json_string(std::string("\x00\x1b[31m", 6)) == "\"\\u0000\\u001b[31m\"");
  REQUIRE(docker_json_string("héllo €") == "\"héllo €\"");                 // valid UTF-8 kept
  REQUIRE(docker_json_string("\xff\xfe ok") == "\"\\ufffd\\ufffd ok\"");     // invalid bytes
  REQUIRE(docker_json_string("\xe2\x82") == "\"\\ufffd\\ufffd\"");           // truncated sequence
  REQUIRE(docker_json_string("\xc0\xaf") == "\"\\ufffd\\ufffd\"");           // overlong
  REQUIRE(docker_json_string("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  REQUIRE(docker_json_string("a\xe2\x80\xa8" "b\xe2\x80\xa9") == "\"a\\u2028b\\u2029\"");
  REQUIRE(docker_json_string("\xf0\x9f\x90\xb3") == "\"\xf0\x9f\x90\xb3\"");  // 4-byte emoji
  // Whatever the bytes, the result is valid JSON that decodes back for valid UTF-8.
  std::string all;
  for (int i = 0; i < 128; ++i) all += static_cast<char>(i);
  REQUIRE(nlohmann::json::parse(docker_json_string(all)).get<std::string>() == all);
}

TEST_CASE("ecs log: one entry per line, field order as Docker", "[unit][ecs]") {
  REQUIRE(encode_log_entry("hi\n", LogStream::stdout_, {1700000000, 5000}) ==
          R"({"log":"hi\n","stream":"stdout","time":"2023-11-14T22:13:20.000005Z"})");
  REQUIRE(encode_log_entry("", LogStream::stderr_, {1700000000, 0}) ==
          R"({"stream":"stderr","time":"2023-11-14T22:13:20Z"})");
}

TEST_CASE("ecs log: writer handles partial lines and both streams", "[unit][ecs]") {
  TempDir dir;
  std::string path = dir.path + "/c-json.log";
  {
    JsonFileLogWriter w(path, {}, fake_clock());
    w.write(LogStream::stdout_, "hel");
    w.write(LogStream::stderr_, "oops\nhalf");
    w.write(LogStream::stdout_, "lo\nwor");
    w.write(LogStream::stdout_, "ld\n\n");
    w.write(LogStream::stdout_, "no newline at end");
    w.close();
  }
  auto lines = lines_of(path);
  REQUIRE(lines.size() == 6);
  auto j = [&](size_t i) { return nlohmann::json::parse(lines[i]); };
  REQUIRE(j(0)["log"] == "oops\n");
  REQUIRE(j(0)["stream"] == "stderr");
  REQUIRE(j(1)["log"] == "hello\n");
  REQUIRE(j(1)["stream"] == "stdout");
  REQUIRE(j(2)["log"] == "world\n");
  REQUIRE(j(3)["log"] == "\n");
  // close() writes what waited for a newline, without one.
  REQUIRE(j(4)["log"] == "no newline at end");
  REQUIRE(j(4)["stream"] == "stdout");
  REQUIRE(j(5)["log"] == "half");
  REQUIRE(j(5)["stream"] == "stderr");
  REQUIRE(j(0)["time"] == "2023-11-14T22:13:20Z");
  REQUIRE(j(1)["time"] == "2023-11-14T22:13:20.000000001Z");

  auto entries = read_json_file_log(path);
  REQUIRE(entries.size() == 6);
  REQUIRE(entries[1].log == "hello\n");
  REQUIRE(entries[5].stream == "stderr");
  auto tail = read_json_file_log(path, 1, 2);
  REQUIRE(tail.size() == 2);
  REQUIRE(tail[0].log == "no newline at end");
}

TEST_CASE("ecs log: lines longer than 16 KiB are split like Docker", "[unit][ecs]") {
  TempDir dir;
  std::string path = dir.path + "/long.log";
  std::string big(40000, 'x');
  {
    JsonFileLogWriter w(path, {}, fake_clock());
    // Fed in small pieces, as a pipe would deliver it.
    for (size_t i = 0; i < big.size(); i += 1000) w.write(LogStream::stdout_, big.substr(i, 1000));
    w.write(LogStream::stdout_, "\n");
    std::string exact(16384, 'y');
    w.write(LogStream::stdout_, exact + "\n");
    std::string fits(16383, 'z');
    w.write(LogStream::stdout_, fits + "\n");
  }
  auto e = read_json_file_log(path);
  REQUIRE(e.size() == 6);
  REQUIRE(e[0].log == std::string(16384, 'x'));
  REQUIRE(e[1].log == std::string(16384, 'x'));
  REQUIRE(e[2].log == std::string(40000 - 2 * 16384, 'x') + "\n");
  REQUIRE(e[3].log == std::string(16384, 'y'));
  REQUIRE(e[4].log == "\n");
  REQUIRE(e[5].log == std::string(16383, 'z') + "\n");
}

TEST_CASE("ecs log: size rotation keeps max-file files", "[unit][ecs]") {
  TempDir dir;
  std::string path = dir.path + "/r.log";
  // Each entry is about 70 bytes; rotate once the file reaches 200 bytes.
  {
    JsonFileLogWriter w(path, {200, 3}, fake_clock());
    for (int i = 0; i < 20; ++i) w.write(LogStream::stdout_, "line " + std::to_string(i) + "\n");
  }
  REQUIRE(ecsa::fs::exists(path));
  REQUIRE(ecsa::fs::exists(path + ".1"));
  REQUIRE(ecsa::fs::exists(path + ".2"));
  REQUIRE_FALSE(ecsa::fs::exists(path + ".3"));
  // A file is rotated once it has reached max-size, so none holds much more than that.
  for (const auto& f : {path, path + ".1", path + ".2"}) REQUIRE(ecsa::fs::read_file(f).size() < 200 + 100);
  auto e = read_json_file_log(path, 3);
  REQUIRE_FALSE(e.empty());
  // Oldest first and contiguous up to the last line.
  REQUIRE(e.back().log == "line 19\n");
  int first = std::stoi(e.front().log.substr(5));
  for (size_t i = 0; i < e.size(); ++i) REQUIRE(e[i].log == "line " + std::to_string(first + static_cast<int>(i)) + "\n");
  REQUIRE(first > 0);  // the oldest lines were dropped

  SECTION("max-file 1 truncates in place") {
    std::string p1 = dir.path + "/one.log";
    {
      JsonFileLogWriter w(p1, {100, 1}, fake_clock());
      for (int i = 0; i < 10; ++i) w.write(LogStream::stderr_, "e" + std::to_string(i) + "\n");
    }
    REQUIRE_FALSE(ecsa::fs::exists(p1 + ".1"));
    auto e1 = read_json_file_log(p1);
    REQUIRE(e1.back().log == "e9\n");
    REQUIRE(e1.size() < 10);
  }
  SECTION("reopening appends and keeps counting the existing size") {
    {
      JsonFileLogWriter w(path, {200, 3}, fake_clock());
      w.write(LogStream::stdout_, "again\n");
    }
    auto e2 = read_json_file_log(path, 3);
    REQUIRE(e2.back().log == "again\n");
  }
}

TEST_CASE("ecs log: reader skips a line being written and bad lines", "[unit][ecs]") {
  TempDir dir;
  std::string path = dir.path + "/x.log";
  ecsa::fs::write_file_atomic(path,
                              "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n"
                              "garbage\n"
                              "{\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"t\"}\n"
                              "{\"log\":\"c\\n\",\"str");
  auto e = read_json_file_log(path);
  REQUIRE(e.size() == 2);
  REQUIRE(e[0].log == "a\n");
  REQUIRE(e[1].stream == "stderr");
  REQUIRE(read_json_file_log(dir.path + "/missing.log").empty());
}

TEST_CASE("ecs log: writer errors name the path", "[unit][ecs]") {
  REQUIRE_THROWS_WITH(JsonFileLogWriter("/nonexistent-dir/x.log", {}),
                      "open /nonexistent-dir/x.log: No such file or directory");
}

TEST_CASE("ecs log: max-size strings as Docker reads them", "[unit][ecs]") {
  REQUIRE(*parse_log_size("10m") == 10 * 1024 * 1024);
  REQUIRE(*parse_log_size("10M") == 10 * 1024 * 1024);
  REQUIRE(*parse_log_size("1k") == 1024);
  REQUIRE(*parse_log_size("1.5k") == 1536);
  REQUIRE(*parse_log_size("2g") == 2LL * 1024 * 1024 * 1024);
  REQUIRE(*parse_log_size("100") == 100);
  REQUIRE(*parse_log_size("10mb") == 10 * 1024 * 1024);
  REQUIRE(*parse_log_size("10 MiB") == 10 * 1024 * 1024);
  REQUIRE_FALSE(parse_log_size("ten"));
  REQUIRE_FALSE(parse_log_size("10x"));
  REQUIRE_FALSE(parse_log_size(""));
  REQUIRE_FALSE(parse_log_size("-1"));
}
