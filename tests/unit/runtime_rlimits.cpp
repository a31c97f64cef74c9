#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "runtime/rlimits.hpp"

using namespace ecsa::runtime;

namespace {
std::vector<Rlimit> parse(const std::string& text) {
  auto doc = ecsa::json::parse(text, "config.json");
  return parse_rlimits(ecsa::json::Node(doc, "process.rlimits"));
}
}  // namespace

TEST_CASE("process.rlimits is parsed", "[unit][runtime]") {
  auto r = parse(R"([{"type":"RLIMIT_NOFILE","soft":1024,"hard":4096},
                     {"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615}])");
  REQUIRE(r.size() == 2);
  REQUIRE(r[0].resource == RLIMIT_NOFILE);
  REQUIRE(r[0].name == "RLIMIT_NOFILE");
  REQUIRE(r[0].soft == 1024);
  REQUIRE(r[0].hard == 4096);
  REQUIRE(r[1].resource == RLIMIT_CORE);
  REQUIRE(r[1].hard == static_cast<uint64_t>(RLIM_INFINITY));
  REQUIRE(parse("[]").empty());
  REQUIRE(rlimit_from_name("RLIMIT_RTTIME") == RLIMIT_RTTIME);
  REQUIRE(rlimit_from_name("NOFILE") == -1);
}

TEST_CASE("bad process.rlimits fail with their JSON path", "[unit][runtime]") {
  REQUIRE_THROWS_WITH(parse(R"([{"type":"RLIMIT_FOO","soft":1,"hard":1}])"),
                      "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  REQUIRE_THROWS_WITH(parse(R"([{"type":"RLIMIT_NOFILE","soft":1,"hard":1},
                                {"type":"RLIMIT_NOFILE","soft":2,"hard":2}])"),
                      "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"");
  REQUIRE_THROWS_WITH(parse(R"([{"type":"RLIMIT_NOFILE","soft":10,"hard":5}])"),
                      "process.rlimits[0]: soft limit 10 is above hard limit 5");
  REQUIRE_THROWS_WITH(parse(R"([{"type":"RLIMIT_NOFILE","soft":10}])"),
                      "process.rlimits[0].hard: required field is missing");
  REQUIRE_THROWS_WITH(parse(R"([{"type":"RLIMIT_NOFILE","soft":-1,"hard":5}])"),
                      "process.rlimits[0].soft: expected a non-negative integer, got -1");
}
