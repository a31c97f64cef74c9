#include <linux/capability.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "runtime/capabilities.hpp"

using namespace ecsa::runtime;

namespace {
CapabilitySets parse(const std::string& text) {
  auto doc = ecsa::json::parse(text, "config.json");
  return parse_capabilities(ecsa::json::Node(doc, "process.capabilities"));
}
}  // namespace

TEST_CASE("capability names map to numbers", "[unit][runtime]") {
  REQUIRE(capability_from_name("CAP_CHOWN") == CAP_CHOWN);
  REQUIRE(capability_from_name("CAP_SYS_ADMIN") == CAP_SYS_ADMIN);
  REQUIRE(capability_from_name("cap_net_bind_service") == CAP_NET_BIND_SERVICE);
  REQUIRE(capability_from_name("CHOWN") == -1);  // OCI names carry the prefix
  REQUIRE(capability_from_name("CAP_FOO") == -1);
  REQUIRE(capability_from_name("0") == -1);
  REQUIRE(capability_name(CAP_KILL) == "CAP_KILL");
}

TEST_CASE("known capabilities follow the running kernel", "[unit][runtime]") {
  auto known = known_capabilities();
  REQUIRE(last_capability() >= CAP_AUDIT_READ);  // every supported kernel has 37
  REQUIRE(known.front() == "CAP_CHOWN");
  REQUIRE(static_cast<int>(known.size()) <= last_capability() + 1);
  REQUIRE(std::find(known.begin(), known.end(), "CAP_SYS_RESOURCE") != known.end());
  for (const auto& n : known) REQUIRE(capability_from_name(n) >= 0);
}

TEST_CASE("process.capabilities is parsed into sorted sets", "[unit][runtime]") {
  auto s = parse(R"({"bounding":["CAP_KILL","CAP_CHOWN","CAP_KILL"],
                     "effective":["CAP_CHOWN"], "ambient":[]})");
  REQUIRE(s.bounding == std::vector<int>{CAP_CHOWN, CAP_KILL});
  REQUIRE(s.effective == std::vector<int>{CAP_CHOWN});
  REQUIRE(s.permitted.empty());
  REQUIRE(s.inheritable.empty());
  REQUIRE(s.ambient.empty());
  REQUIRE(parse("{}").bounding.empty());
}

TEST_CASE("unknown capability names fail with their JSON path", "[unit][runtime]") {
  REQUIRE_THROWS_WITH(parse(R"({"permitted":["CAP_CHOWN","CAP_FOO"]})"),
                      "process.capabilities.permitted[1]: unknown capability \"CAP_FOO\"");
  REQUIRE_THROWS_WITH(parse(R"({"bounding":["CHOWN"]})"),
                      "process.capabilities.bounding[0]: unknown capability \"CHOWN\"");
  REQUIRE_THROWS_WITH(parse(R"({"bounding":"CAP_CHOWN"})"),
                      "process.capabilities.bounding: expected an array, got \"CAP_CHOWN\"");
}
