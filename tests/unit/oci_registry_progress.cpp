// Pull progress output: Docker's JSON lines and the plain format.
#include <catch2/catch.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "oci/progress.hpp"

using namespace ecsa::oci;

namespace {
std::string contents(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}
}  // namespace

TEST_CASE("progress --progress json writes Docker's JSON lines", "[unit][oci]") {
  FILE* f = std::tmpfile();
  REQUIRE(f);
  {
    auto p = Progress::create(ProgressMode::json, f);
    p->message("latest", "Pulling from library/busybox");
    p->layer("1a1c255be476", "Pulling fs layer");
    p->bytes("1a1c255be476", 10, 100);
    p->bytes("1a1c255be476", 20, 100);  // throttled
    p->bytes("1a1c255be476", 100, 100);  // the last one always shows
    p->layer("1a1c255be476", "Pull complete");
    p->message("", "Digest: sha256:abc");
  }
  std::string out = contents(f);
  std::fclose(f);
  std::vector<nlohmann::json> lines;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    lines.push_back(nlohmann::json::parse(out.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == nlohmann::json{{"status", "Pulling from library/busybox"}, {"id", "latest"}});
  CHECK(lines[1]["progressDetail"] == nlohmann::json::object());
  CHECK(lines[2] == nlohmann::json{{"status", "Downloading"},
                                   {"id", "1a1c255be476"},
                                   {"progressDetail", {{"current", 10}, {"total", 100}}}});
  CHECK(lines[3]["progressDetail"]["current"] == 100);
  CHECK(lines[4]["status"] == "Pull complete");
  CHECK(lines[5] == nlohmann::json{{"status", "Digest: sha256:abc"}});
}

TEST_CASE("progress plain and none, sizes and ids", "[unit][oci]") {
  FILE* f = std::tmpfile();
  REQUIRE(f);
  {
    auto p = Progress::create(ProgressMode::automatic, f);  // not a terminal: plain
    p->layer("abc", "Pulling fs layer");
    p->bytes("abc", 2500000, 2500000);
    p->layer("abc", "Pull complete");
  }
  std::string out = contents(f);
  std::fclose(f);
  CHECK_THAT(out, Catch::StartsWith("abc: Pulling fs layer\nabc: Pull complete 2.5MB/2.5MB"));
  CHECK(human_size(999) == "999B");
  CHECK(human_size(1500) == "1.5kB");
  CHECK(human_size(1030000) == "1.03MB");
  CHECK(short_id("sha256:1a1c255be476293bdc3b") == "1a1c255be476");
  CHECK(parse_progress_mode("none") == ProgressMode::none);
  CHECK_THROWS_WITH(parse_progress_mode("fancy"), Catch::Contains("--progress: unknown mode \"fancy\""));
}
