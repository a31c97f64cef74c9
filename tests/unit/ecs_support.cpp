// The small pieces: agent settings, .env files, start order, capabilities, files.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "ecs/agent_config.hpp"
#include "ecs/capabilities.hpp"
#include "ecs/dependency_order.hpp"
#include "ecs/env_file.hpp"
#include "ecs/task_definition.hpp"

using namespace ecsa::ecs;

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ecsa-ecs-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { ecsa::fs::remove_all(path); }
};
}  // namespace

TEST_CASE("ecs agent config: defaults and ECS_* variables", "[unit][ecs]") {
  auto d = agent_config_from({});
  REQUIRE(d.cpu_period_us == 100000);
  REQUIRE(d.stop_timeout_s == 30);
  REQUIRE(d.start_timeout_s == 180);
  REQUIRE(d.task_cpu_mem_limit);
  REQUIRE_FALSE(d.pids_limit);
  REQUIRE(d.pull_behavior == ImagePullBehavior::default_);
  REQUIRE(d.warnings.empty());

  auto c = agent_config_from({{"ECS_CGROUP_CPU_PERIOD", "50ms"},
                              {"ECS_CONTAINER_STOP_TIMEOUT", "2m30s"},
                              {"ECS_CONTAINER_START_TIMEOUT", "5m"},
                              {"ECS_TASK_PIDS_LIMIT", "100"},
                              {"ECS_IMAGE_PULL_BEHAVIOR", "once"}});
  REQUIRE(c.cpu_period_us == 50000);
  REQUIRE(c.stop_timeout_s == 150);
  REQUIRE(c.start_timeout_s == 300);
  REQUIRE(*c.pids_limit == 100);
  REQUIRE(c.pull_behavior == ImagePullBehavior::once);
  REQUIRE(agent_config_from({{"ECS_IMAGE_PULL_BEHAVIOR", "always"}}).pull_behavior == ImagePullBehavior::always);
  REQUIRE(agent_config_from({{"ECS_IMAGE_PULL_BEHAVIOR", "prefer-cached"}}).pull_behavior ==
          ImagePullBehavior::prefer_cached);

  // Bad values: the default, with a warning (as the agent).
  auto bad = agent_config_from({{"ECS_CGROUP_CPU_PERIOD", "1s"},
                                {"ECS_CONTAINER_STOP_TIMEOUT", "soon"},
                                {"ECS_IMAGE_PULL_BEHAVIOR", "never"},
                                {"ECS_TASK_PIDS_LIMIT", "-5"}});
  REQUIRE(bad.cpu_period_us == 100000);
  REQUIRE(bad.stop_timeout_s == 30);
  REQUIRE(bad.pull_behavior == ImagePullBehavior::default_);
  REQUIRE_FALSE(bad.pids_limit);
  REQUIRE(bad.warnings.size() == 4);
  REQUIRE(bad.warnings[0] == "ECS_CGROUP_CPU_PERIOD=1s: expected a duration from 8ms to 100ms, using 100ms");
  REQUIRE(agent_config_from({{"ECS_CGROUP_CPU_PERIOD", "7ms"}}).cpu_period_us == 100000);

  REQUIRE(*parse_go_duration_us("1h2m3.5s") == 3723500000LL);
  REQUIRE(*parse_go_duration_us("250us") == 250);
  REQUIRE_FALSE(parse_go_duration_us("10"));
  REQUIRE_FALSE(parse_go_duration_us("ms"));
}

TEST_CASE("ecs env files: .env format", "[unit][ecs]") {
  std::vector<std::string> warnings;
  auto env = parse_env_file(
      "# comment\n\nA=1\n  B=two words \nC=x=y\nQ=\"quoted\"\nnoequals\n=empty\nA=again\r\nS P=1\n", "app.env",
      warnings);
  REQUIRE(env == EnvList{{"A", "again"}, {"B", "two words "}, {"C", "x=y"}, {"Q", "\"quoted\""}});
  REQUIRE(warnings == std::vector<std::string>{"app.env:7: no '=' in line, ignored",
                                               "app.env:8: empty variable name, ignored",
                                               "app.env:10: variable name \"S P\" contains blanks, ignored"});
}

TEST_CASE("ecs env files: precedence in a task definition", "[unit][ecs]") {
  TempDir dir;
  ecsa::fs::write_file_atomic(dir.path + "/first.env", "A=from-first\nB=from-first\n");
  ecsa::fs::write_file_atomic(dir.path + "/second.env", "B=from-second\nC=from-second\nD=from-second\n");
  std::string td = R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
    "environmentFiles":[{"value":"first.env","type":"s3"},{"value":")" + dir.path + R"(/second.env","type":"s3"}],
    "environment":[{"name":"D","value":"from-environment"}]}]})";
  PlanOptions o;
  o.base_dir = dir.path;
  auto p = plan_task(ecsa::json::parse(td, "t"), o);
  // Earlier files win over later ones; environment wins over all files.
  REQUIRE(p.containers[0].env == EnvList{{"A", "from-first"}, {"B", "from-first"}, {"C", "from-second"},
                                         {"D", "from-environment"}});

  std::string missing = R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
    "environmentFiles":[{"value":"nope.env","type":"s3"}]}]})";
  REQUIRE_THROWS_WITH(plan_task(ecsa::json::parse(missing, "t"), o),
                      "containerDefinitions[0].environmentFiles[0].value: open " + dir.path +
                          "/nope.env: No such file or directory");
  std::string s3 = R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
    "environmentFiles":[{"value":"arn:aws:s3:::bucket/app.env","type":"s3"}]}]})";
  REQUIRE_THROWS_WITH(plan_task(ecsa::json::parse(s3, "t"), o),
                      "containerDefinitions[0].environmentFiles[0].value: environment files in S3 are not supported "
                      "by ecsa yet; give a local file path");
}

TEST_CASE("ecs files: plan_task_file names the file and defaults the family", "[unit][ecs]") {
  TempDir dir;
  ecsa::fs::write_file_atomic(dir.path + "/containers.json", R"([{"name":"a","image":"x","memory":8}])");
  auto p = plan_task_file(dir.path + "/containers.json", {});
  REQUIRE(p.family == "containers");
  ecsa::fs::write_file_atomic(dir.path + "/bad.json", R"({"containerDefinitions":[{"name":"a","image":"x","memory":true}]})");
  REQUIRE_THROWS_WITH(plan_task_file(dir.path + "/bad.json", {}),
                      dir.path + "/bad.json: containerDefinitions[0].memory: expected an integer, got true");
  ecsa::fs::write_file_atomic(dir.path + "/syntax.json", "{\"containerDefinitions\": [}");
  REQUIRE_THROWS_WITH(plan_task_file(dir.path + "/syntax.json", {}),
                      Catch::StartsWith(dir.path + "/syntax.json: invalid JSON at line 1"));
  REQUIRE_THROWS_WITH(plan_task_file(dir.path + "/none.json", {}),
                      "open " + dir.path + "/none.json: No such file or directory");
}

TEST_CASE("ecs start order: definition order unless dependencies say otherwise", "[unit][ecs]") {
  REQUIRE(start_order({"a", "b", "c"}, {{}, {}, {}}) == std::vector<size_t>{0, 1, 2});
  REQUIRE(start_order({"a", "b", "c"}, {{2}, {}, {1}}) == std::vector<size_t>{1, 2, 0});
  REQUIRE(start_order({"a", "b", "c", "d"}, {{}, {3}, {}, {0}}) == std::vector<size_t>{0, 2, 3, 1});
  REQUIRE_THROWS_WITH(start_order({"a", "b"}, {{1}, {0}}), "containerDefinitions: dependency cycle: a -> b -> a");
  REQUIRE_THROWS_WITH(start_order({"x", "a", "b"}, {{}, {2}, {2}}), "containerDefinitions: dependency cycle: b -> b");
}

TEST_CASE("ecs capabilities: names and Docker's rules", "[unit][ecs]") {
  REQUIRE(*normalize_capability("net_admin") == "CAP_NET_ADMIN");
  REQUIRE(*normalize_capability("CAP_SYS_ADMIN") == "CAP_SYS_ADMIN");
  REQUIRE(*normalize_capability("all") == "ALL");
  REQUIRE_FALSE(normalize_capability("CAP_FLY"));
  REQUIRE(all_capabilities().size() == 41);
  REQUIRE(effective_capabilities({}, {}, false) == docker_default_capabilities());
  REQUIRE(effective_capabilities({}, {}, true) == all_capabilities());
  REQUIRE(effective_capabilities({"CAP_NET_ADMIN"}, {"ALL"}, false) == std::vector<std::string>{"CAP_NET_ADMIN"});
  auto all_but = effective_capabilities({"ALL"}, {"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}, false);
  REQUIRE(all_but.size() == 39);
  auto tweaked = effective_capabilities({"CAP_KILL", "CAP_NET_ADMIN"}, {"CAP_CHOWN"}, false);
  REQUIRE(tweaked.size() == 14);  // -CHOWN +NET_ADMIN, KILL already there
  REQUIRE(tweaked.back() == "CAP_NET_ADMIN");
}
