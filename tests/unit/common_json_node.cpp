#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/json_node.hpp"

using ecsa::json::Node;

TEST_CASE("json node errors name the JSON path", "[unit][common]") {
  auto doc = ecsa::json::parse(
      R"({"containerDefinitions":[{},{"portMappings":[{"hostPort":"abc"}]}]})", "taskdef.json");
  Node root(doc, "");
  auto cd = root.at("containerDefinitions").items();
  REQUIRE(cd.size() == 2);
  auto pm = cd[1].at("portMappings").items();
  try {
    pm[0].at("hostPort").i64();
    FAIL("no error");
  } catch (const ecsa::Error& e) {
    REQUIRE(std::string(e.what()) ==
            "containerDefinitions[1].portMappings[0].hostPort: expected an integer, got \"abc\"");
  }
  REQUIRE_THROWS_WITH(cd[0].at("name"), "containerDefinitions[0].name: required field is missing");
}

TEST_CASE("json parse errors give line and column", "[unit][common]") {
  REQUIRE_THROWS_WITH(ecsa::json::parse("{\n  \"a\": ,\n}", "config.json"),
                      Catch::Matchers::StartsWith("config.json: invalid JSON at line 2, column"));
}
