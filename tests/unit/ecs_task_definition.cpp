// Task definition reading and translation: every field, the rules, and exact JSON-path
// error messages.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/json_node.hpp"
#include "ecs/task_definition.hpp"

using namespace ecsa::ecs;
using ecsa::json::Json;

namespace {

constexpr int64_t MiB = 1024 * 1024;

TaskPlan plan(const std::string& text, const PlanOptions& opts = {}) {
  return plan_task(ecsa::json::parse(text, "test"), opts);
}

// A task with one container `c` whose extra fields are `fields` (JSON members).
std::string one(const std::string& fields, const std::string& task_fields = "") {
  return R"({)" + task_fields + (task_fields.empty() ? "" : ",") +
         R"("family":"f","containerDefinitions":[{"name":"c","image":"busybox","memory":64)" +
         (fields.empty() ? "" : "," + fields) + "}]}";
}

const ContainerPlan& c0(const TaskPlan& p) { return p.containers.at(0); }

bool has_warning(const TaskPlan& p, const std::string& w) {
  for (const auto& x : p.warnings)
    if (x == w) return true;
  return false;
}

}  // namespace

TEST_CASE("ecs: minimal task and defaults", "[unit][ecs]") {
  auto p = plan(one(""));
  REQUIRE(p.family == "f");
  REQUIRE(p.network_mode == NetworkMode::bridge);
  REQUIRE(p.containers.size() == 1);
  const auto& c = c0(p);
  REQUIRE(c.name == "c");
  REQUIRE(c.image == "busybox");
  REQUIRE(c.essential);
  REQUIRE(c.cpu_shares == 2);
  REQUIRE(*c.memory_bytes == 64 * MiB);
  REQUIRE_FALSE(c.memory_reservation_bytes);
  REQUIRE_FALSE(c.entry_point);
  REQUIRE_FALSE(c.command);
  REQUIRE(c.stop_timeout_s == 30);
  REQUIRE(c.start_timeout_s == 180);
  REQUIRE(c.log.driver == "json-file");
  REQUIRE(c.log.max_size_bytes == -1);
  REQUIRE(c.log.max_file == 1);
  REQUIRE(c.capabilities.size() == 14);  // Docker's default set
  REQUIRE(p.start_order == std::vector<size_t>{0});
  REQUIRE(p.warnings.empty());
}

TEST_CASE("ecs: the three input shapes", "[unit][ecs]") {
  SECTION("describe-task-definition output with nulls and extra fields") {
    auto p = plan(R"({"taskDefinition":{
      "taskDefinitionArn":"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7",
      "containerDefinitions":[{"name":"web","image":"nginx","cpu":0,"memory":null,
        "memoryReservation":128,"links":null,"portMappings":[{"containerPort":80,"hostPort":0,"protocol":"tcp"}],
        "essential":true,"entryPoint":null,"command":null,"environment":[],"mountPoints":[],
        "volumesFrom":[],"systemControls":[],"logConfiguration":null,"healthCheck":null}],
      "family":"web","revision":7,"volumes":[],"status":"ACTIVE",
      "requiresAttributes":[{"name":"com.amazonaws.ecs.capability.docker-remote-api.1.21"}],
      "placementConstraints":[],"compatibilities":["EXTERNAL","EC2"],
      "requiresCompatibilities":["EXTERNAL"],"cpu":"256","memory":"512",
      "registeredAt":"2024-01-02T03:04:05.678000+01:00","registeredBy":"arn:aws:iam::123:root"},
      "tags":[]})");
    REQUIRE(p.family == "web");
    REQUIRE(*p.revision == 7);
    REQUIRE(p.arn == "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7");
    REQUIRE(p.warnings.empty());
    REQUIRE(*c0(p).memory_reservation_bytes == 128 * MiB);
    REQUIRE_FALSE(c0(p).memory_bytes);
    REQUIRE_FALSE(c0(p).ports[0].host_port);
  }
  SECTION("errors inside the wrapper name the full path") {
    REQUIRE_THROWS_WITH(
        plan(R"({"taskDefinition":{"containerDefinitions":[{"name":"a","image":"x","memory":"lots"}]}})"),
        "taskDefinition.containerDefinitions[0].memory: expected an integer, got \"lots\"");
  }
  SECTION("a bare array of container definitions") {
    auto p = plan(R"([{"name":"a","image":"x","memory":32},{"name":"b","image":"y","memory":32}])");
    REQUIRE(p.containers.size() == 2);
    REQUIRE_THROWS_WITH(plan(R"([{"name":"a","image":"x","memory":32,"cpu":-1}])"),
                        "containerDefinitions[0].cpu: expected an integer from 0 to 2147483647, got -1");
  }
  SECTION("anything else") {
    REQUIRE_THROWS_WITH(plan("42"), "(document): expected a task definition object, {\"taskDefinition\": {...}} "
                                    "or an array of container definitions, got 42");
    REQUIRE_THROWS_WITH(plan(R"({"family":"x"})"), "containerDefinitions: required field is missing");
    REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[]})"),
                        "containerDefinitions: expected at least one container definition");
  }
}

TEST_CASE("ecs: unknown fields are warnings naming the JSON path", "[unit][ecs]") {
  // The agent's own nginx test task definition says "portBindings" instead of portMappings.
  auto p = plan(one(R"("portBindings":[{"containerPort":80}],"linuxParameters":{"initProcessEnable":true})",
                    R"("foo":1)"));
  REQUIRE(has_warning(p, "containerDefinitions[0].portBindings: unknown field, ignored"));
  REQUIRE(has_warning(p, "containerDefinitions[0].linuxParameters.initProcessEnable: unknown field, ignored"));
  REQUIRE(has_warning(p, "foo: unknown field, ignored"));
  auto q = plan(one("", R"("placementConstraints":[{"type":"memberOf","expression":"attribute:ecs.os-type == linux"}])"));
  REQUIRE(has_warning(q, "placementConstraints: placement is decided by ECS before the task reaches the instance, ignored"));
  REQUIRE(c0(p).ports.empty());
}

TEST_CASE("ecs: invalid values give one error with the JSON path", "[unit][ecs]") {
  std::string td = R"({"containerDefinitions":[{"name":"a","image":"x","memory":64},
    {"name":"b","image":"x","memory":64,"portMappings":[{"containerPort":80,"hostPort":"abc"}]}]})";
  REQUIRE_THROWS_WITH(plan(td), "containerDefinitions[1].portMappings[0].hostPort: expected an integer, got \"abc\"");
  REQUIRE_THROWS_WITH(plan(one(R"("essential":"yes")")),
                      "containerDefinitions[0].essential: expected true or false, got \"yes\"");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"image":"x","memory":4}]})"),
                      "containerDefinitions[0].name: required field is missing");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a b","image":"x","memory":4}]})"),
                      "containerDefinitions[0].name: expected a name of up to 255 letters, digits, hyphens and "
                      "underscores, got \"a b\"");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"","memory":4}]})"),
                      "containerDefinitions[0].image: expected an image reference, got \"\"");
  REQUIRE_THROWS_WITH(
      plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":4},{"name":"a","image":"x","memory":4}]})"),
      "containerDefinitions[1].name: container name \"a\" is used twice");
  REQUIRE_THROWS_WITH(plan(one(R"("command":"sleep 1")")),
                      "containerDefinitions[0].command: expected an array, got \"sleep 1\"");
}

TEST_CASE("ecs: features ECS Anywhere does not have", "[unit][ecs]") {
  REQUIRE_THROWS_WITH(plan(one("", R"("networkMode":"awsvpc")")),
                      "networkMode: networkMode \"awsvpc\" is not supported on ECS Anywhere (EXTERNAL instances); "
                      "use bridge, host or none");
  REQUIRE_THROWS_WITH(plan(one("", R"("networkMode":"nat")")),
                      "networkMode: expected \"bridge\", \"host\" or \"none\", got \"nat\"");
  REQUIRE_THROWS_WITH(
      plan(one("", R"("volumes":[{"name":"v","efsVolumeConfiguration":{"fileSystemId":"fs-1"}}])")),
      "volumes[0].efsVolumeConfiguration: EFS volumes is not supported on ECS Anywhere (EXTERNAL instances)");
  REQUIRE_THROWS_WITH(
      plan(one("", R"("volumes":[{"name":"v","fsxWindowsFileServerVolumeConfiguration":{"fileSystemId":"fs-1"}}])")),
      "volumes[0].fsxWindowsFileServerVolumeConfiguration: FSx for Windows File Server volumes is not supported on "
      "ECS Anywhere (EXTERNAL instances)");
  REQUIRE_THROWS_WITH(plan(one("", R"("volumes":[{"name":"v","configuredAtLaunch":true}])")),
                      "volumes[0].configuredAtLaunch: EBS volumes configured at launch is not supported on ECS "
                      "Anywhere (EXTERNAL instances)");
  REQUIRE_THROWS_WITH(plan(one("", R"("proxyConfiguration":{"type":"APPMESH","containerName":"envoy"})")),
                      "proxyConfiguration: App Mesh proxy configuration is not supported on ECS Anywhere "
                      "(EXTERNAL instances)");
  REQUIRE_THROWS_WITH(plan(one("", R"("inferenceAccelerators":[{"deviceName":"d","deviceType":"eia2.medium"}])")),
                      "inferenceAccelerators: Elastic Inference accelerators is not supported on ECS Anywhere "
                      "(EXTERNAL instances)");
  REQUIRE_THROWS_WITH(plan(one("", R"("ephemeralStorage":{"sizeInGiB":30})")),
                      "ephemeralStorage: ephemeral storage (Fargate only) is not supported on ECS Anywhere "
                      "(EXTERNAL instances)");
  REQUIRE_THROWS_WITH(plan(one("", R"("enableFaultInjection":true)")),
                      "enableFaultInjection: fault injection is not supported on ECS Anywhere (EXTERNAL instances)");
  REQUIRE_NOTHROW(plan(one("", R"("enableFaultInjection":false,"inferenceAccelerators":[])")));
  REQUIRE_NOTHROW(plan(one(R"("credentialSpecs":[],"firelensConfiguration":null,"resourceRequirements":[])")));
  REQUIRE_THROWS_WITH(
      plan(one(R"("resourceRequirements":[{"type":"InferenceAccelerator","value":"d"}])")),
      "containerDefinitions[0].resourceRequirements[0].type: Elastic Inference accelerators is not supported on "
      "ECS Anywhere (EXTERNAL instances)");
  REQUIRE_THROWS_WITH(plan(one(R"("resourceRequirements":[{"type":"GPU","value":"1"}])")),
                      "containerDefinitions[0].resourceRequirements[0].type: GPUs are not supported by ecsa yet");
  REQUIRE_THROWS_WITH(plan(one(R"("dockerSecurityOptions":["label:type:svirt_apache_t"])")),
                      "containerDefinitions[0].dockerSecurityOptions[0]: SELinux labels is not supported on ECS "
                      "Anywhere (EXTERNAL instances)");
  REQUIRE_THROWS_WITH(plan(one(R"("firelensConfiguration":{"type":"fluentbit"})")),
                      "containerDefinitions[0].firelensConfiguration: FireLens is not supported by ecsa; use the "
                      "json-file log driver and run fluent-bit tailing the json-file logs");
  REQUIRE_THROWS_WITH(plan(one("", R"("runtimePlatform":{"operatingSystemFamily":"WINDOWS_SERVER_2019_CORE"})")),
                      "runtimePlatform.operatingSystemFamily: only LINUX is supported by ecsa, got "
                      "\"WINDOWS_SERVER_2019_CORE\"");
  auto p = plan(one("", R"("runtimePlatform":{"operatingSystemFamily":"LINUX","cpuArchitecture":"ARM64"})"));
  REQUIRE(p.cpu_architecture == "ARM64");
  auto q = plan(one("", R"("requiresCompatibilities":["FARGATE"])"));
  REQUIRE(has_warning(q, "requiresCompatibilities: EXTERNAL is not listed; ECS would not place this task on an ECS "
                         "Anywhere instance"));
}

TEST_CASE("ecs: container cpu becomes cpu shares", "[unit][ecs]") {
  REQUIRE(c0(plan(one(""))).cpu_shares == 2);
  REQUIRE(c0(plan(one(R"("cpu":0)"))).cpu_shares == 2);
  REQUIRE(c0(plan(one(R"("cpu":1)"))).cpu_shares == 2);
  REQUIRE(c0(plan(one(R"("cpu":2)"))).cpu_shares == 2);
  REQUIRE(c0(plan(one(R"("cpu":512)"))).cpu_shares == 512);
  REQUIRE(c0(plan(one(R"("cpu":300000)"))).cpu_shares == 262144);
  REQUIRE(c0(plan(one(R"("cpu":512)"))).cpu_units == 512);
}

TEST_CASE("ecs: task cpu becomes a CFS quota, or shares without it", "[unit][ecs]") {
  SECTION("units and vCPU strings") {
    auto p = plan(one("", R"("cpu":"256")"));
    REQUIRE(*p.resources.cpu_units == 256);
    REQUIRE(p.resources.cpu_period_us == 100000);
    REQUIRE(*p.resources.cpu_quota_us == 25000);
    REQUIRE_FALSE(p.resources.cpu_shares);
    REQUIRE(*plan(one("", R"("cpu":"0.25 vCPU")")).resources.cpu_quota_us == 25000);
    REQUIRE(*plan(one("", R"("cpu":"1 vcpu")")).resources.cpu_quota_us == 100000);
    REQUIRE(*plan(one("", R"("cpu":"2vCPU")")).resources.cpu_units == 2048);
    REQUIRE(*plan(one("", R"("cpu":1024)")).resources.cpu_quota_us == 100000);
    // "0" (describe output of a task without cpu) means none.
    REQUIRE_FALSE(plan(one("", R"("cpu":"0")")).resources.cpu_units);
  }
  SECTION("ECS_CGROUP_CPU_PERIOD") {
    PlanOptions o;
    o.agent = agent_config_from({{"ECS_CGROUP_CPU_PERIOD", "10ms"}});
    auto p = plan(one("", R"("cpu":"512")"), o);
    REQUIRE(p.resources.cpu_period_us == 10000);
    REQUIRE(*p.resources.cpu_quota_us == 5000);
    o.agent = agent_config_from({{"ECS_CGROUP_CPU_PERIOD", "8ms"}});
    REQUIRE(*plan(one("", R"("cpu":"128")"), o).resources.cpu_quota_us == 1000);
  }
  SECTION("without task cpu the task shares are the containers' sum") {
    auto p = plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,"cpu":100},
      {"name":"b","image":"x","memory":8},{"name":"c","image":"x","memory":8,"cpu":1}]})");
    REQUIRE(*p.resources.cpu_shares == 104);
    REQUIRE_FALSE(p.resources.cpu_quota_us);
    auto big = plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,"cpu":200000},
      {"name":"b","image":"x","memory":8,"cpu":200000}]})");
    REQUIRE(*big.resources.cpu_shares == 262144);
  }
  SECTION("bad values") {
    REQUIRE_THROWS_WITH(plan(one("", R"("cpu":"lots")")),
                        "cpu: expected CPU units like \"256\" or vCPUs like \"0.25 vCPU\", got \"lots\"");
    REQUIRE_THROWS_WITH(plan(one("", R"("cpu":"64")")),
                        "cpu: expected from 128 to 10240 CPU units (0.125 to 10 vCPU), got 64");
    REQUIRE_THROWS_WITH(plan(one(R"("cpu":512)", R"("cpu":"256")")),
                        "containerDefinitions: the containers' cpu (512 units in all) is more than the task cpu (256)");
  }
  SECTION("ECS_ENABLE_TASK_CPU_MEM_LIMIT=false ignores task limits") {
    PlanOptions o;
    o.agent = agent_config_from({{"ECS_ENABLE_TASK_CPU_MEM_LIMIT", "false"}});
    auto p = plan(one("", R"("cpu":"256","memory":"512")"), o);
    REQUIRE_FALSE(p.resources.cpu_quota_us);
    REQUIRE_FALSE(p.resources.memory_limit_bytes);
    REQUIRE(has_warning(p, "task cpu and memory limits are off (ECS_ENABLE_TASK_CPU_MEM_LIMIT=false), ignored"));
  }
}

TEST_CASE("ecs: memory limits and their rules", "[unit][ecs]") {
  SECTION("hard limit, at least 4 MiB") {
    REQUIRE(*c0(plan(one(""))).memory_bytes == 64 * MiB);
    REQUIRE(*c0(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":2}]})")).memory_bytes == 4 * MiB);
  }
  SECTION("soft limit") {
    auto p = plan(R"({"containerDefinitions":[{"name":"a","image":"x","memoryReservation":128}]})");
    REQUIRE(*c0(p).memory_reservation_bytes == 128 * MiB);
    REQUIRE_FALSE(c0(p).memory_bytes);
  }
  SECTION("task memory") {
    REQUIRE(*plan(one("", R"("memory":"512")")).resources.memory_limit_bytes == 512 * MiB);
    REQUIRE(*plan(one("", R"("memory":"1GB")")).resources.memory_limit_bytes == 1024 * MiB);
    REQUIRE(*plan(one("", R"("memory":"0.5 GB")")).resources.memory_mib == 512);
    REQUIRE(*plan(one("", R"("memory":256)")).resources.memory_mib == 256);
    REQUIRE_THROWS_WITH(plan(one("", R"("memory":"much")")),
                        "memory: expected memory in MiB like \"512\" or GB like \"1 GB\", got \"much\"");
  }
  SECTION("without task memory each container needs memory or memoryReservation") {
    REQUIRE_THROWS_WITH(
        plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8},{"name":"b","image":"x"}]})"),
        "containerDefinitions[1]: memory or memoryReservation is required when the task has no memory");
    auto p = plan(R"({"memory":"256","containerDefinitions":[{"name":"a","image":"x"}]})");
    REQUIRE_FALSE(c0(p).memory_bytes);
  }
  SECTION("a container may not ask more than the task") {
    REQUIRE_THROWS_WITH(plan(R"({"memory":"128","containerDefinitions":[{"name":"a","image":"x","memory":256}]})"),
                        "containerDefinitions[0].memory: 256 MiB is more than the task memory (128 MiB)");
    REQUIRE_THROWS_WITH(
        plan(R"({"memory":"128","containerDefinitions":[{"name":"a","image":"x","memoryReservation":256}]})"),
        "containerDefinitions[0].memoryReservation: 256 MiB is more than the task memory (128 MiB)");
  }
  SECTION("memory must be greater than memoryReservation") {
    REQUIRE_THROWS_WITH(plan(one(R"("memoryReservation":64)")),
                        "containerDefinitions[0].memoryReservation: must be less than memory (64 MiB), got 64");
    REQUIRE(*c0(plan(one(R"("memoryReservation":32)"))).memory_reservation_bytes == 32 * MiB);
  }
  SECTION("maxSwap and swappiness") {
    auto p = plan(one(R"("linuxParameters":{"maxSwap":128,"swappiness":10})"));
    REQUIRE(*c0(p).memory_swap_bytes == (64 + 128) * MiB);
    REQUIRE(*c0(p).swappiness == 10);
    REQUIRE(*c0(plan(one(R"("linuxParameters":{"maxSwap":0})"))).memory_swap_bytes == 64 * MiB);
    REQUIRE(*c0(plan(one(R"("linuxParameters":{"maxSwap":0})"))).swappiness == 60);
    auto q = plan(one(R"("linuxParameters":{"swappiness":10})"));
    REQUIRE_FALSE(c0(q).swappiness);
    REQUIRE(has_warning(q, "containerDefinitions[0].linuxParameters.swappiness: ignored without maxSwap"));
    REQUIRE_THROWS_WITH(plan(one(R"("linuxParameters":{"maxSwap":1,"swappiness":101})")),
                        "containerDefinitions[0].linuxParameters.swappiness: expected an integer from 0 to 100, got 101");
    REQUIRE_THROWS_WITH(
        plan(R"({"memory":"64","containerDefinitions":[{"name":"a","image":"x","linuxParameters":{"maxSwap":8}}]})"),
        "containerDefinitions[0]: linuxParameters.maxSwap needs the container's memory (hard limit) to be set");
  }
}

TEST_CASE("ecs: essential and dependsOn", "[unit][ecs]") {
  std::string td = R"({"containerDefinitions":[
    {"name":"app","image":"x","memory":8,"dependsOn":[{"containerName":"init","condition":"SUCCESS"},
                                                    {"containerName":"db","condition":"HEALTHY"}]},
    {"name":"init","image":"x","memory":8,"essential":false},
    {"name":"db","image":"x","memory":8,"healthCheck":{"command":["CMD","true"]},
     "dependsOn":[{"containerName":"init","condition":"COMPLETE"}]},
    {"name":"side","image":"x","memory":8,"dependsOn":[{"containerName":"app","condition":"START"}]}]})";
  auto p = plan(td);
  REQUIRE_FALSE(p.containers[1].essential);
  REQUIRE(p.containers[0].depends_on.size() == 2);
  REQUIRE(p.containers[0].depends_on[1].condition == DependencyCondition::healthy);
  std::vector<std::string> start, stop;
  for (size_t i : p.start_order) start.push_back(p.containers[i].name);
  for (size_t i : p.stop_order()) stop.push_back(p.containers[i].name);
  REQUIRE(start == std::vector<std::string>{"init", "db", "app", "side"});
  REQUIRE(stop == std::vector<std::string>{"side", "app", "db", "init"});

  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
      "dependsOn":[{"containerName":"b","condition":"START"}]}]})"),
                      "containerDefinitions[0].dependsOn[0].containerName: no container \"b\" in the task definition");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
      "dependsOn":[{"containerName":"a","condition":"START"}]}]})"),
                      "containerDefinitions[0].dependsOn[0].containerName: a container cannot refer to itself");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
      "dependsOn":[{"containerName":"b","condition":"SUCCESS"}]},{"name":"b","image":"x","memory":8}]})"),
                      "containerDefinitions[0].dependsOn[0].condition: SUCCESS cannot be used on essential container "
                      "\"b\" (its exit would stop the task)");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
      "dependsOn":[{"containerName":"b","condition":"COMPLETE"}]},{"name":"b","image":"x","memory":8}]})"),
                      "containerDefinitions[0].dependsOn[0].condition: COMPLETE cannot be used on essential container "
                      "\"b\" (its exit would stop the task)");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
      "dependsOn":[{"containerName":"b","condition":"HEALTHY"}]},{"name":"b","image":"x","memory":8}]})"),
                      "containerDefinitions[0].dependsOn[0].condition: HEALTHY needs a healthCheck on container \"b\"");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,
      "dependsOn":[{"containerName":"b","condition":"RUNNING"}]},{"name":"b","image":"x","memory":8}]})"),
                      "containerDefinitions[0].dependsOn[0].condition: expected START, COMPLETE, SUCCESS or HEALTHY, "
                      "got \"RUNNING\"");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[
      {"name":"a","image":"x","memory":8,"dependsOn":[{"containerName":"b","condition":"START"}]},
      {"name":"b","image":"x","memory":8,"dependsOn":[{"containerName":"c","condition":"START"}]},
      {"name":"c","image":"x","memory":8,"dependsOn":[{"containerName":"a","condition":"START"}]}]})"),
                      "containerDefinitions: dependency cycle: a -> b -> c -> a");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[{"name":"a","image":"x","memory":8,"essential":false}]})"),
                      "containerDefinitions: at least one container must be essential");
}

TEST_CASE("ecs: healthCheck", "[unit][ecs]") {
  auto p = plan(one(R"("healthCheck":{"command":["CMD-SHELL","curl -f http://localhost/ || exit 1"]})"));
  const auto& h = *c0(p).health_check;
  REQUIRE(h.interval_s == 30);
  REQUIRE(h.timeout_s == 5);
  REQUIRE(h.retries == 3);
  REQUIRE(h.start_period_s == 0);
  REQUIRE(h.argv() == std::vector<std::string>{"/bin/sh", "-c", "curl -f http://localhost/ || exit 1"});
  auto q = plan(one(R"("healthCheck":{"command":["CMD","pg_isready","-q"],"interval":5,"timeout":2,"retries":10,"startPeriod":300})"));
  const auto& g = *c0(q).health_check;
  REQUIRE(g.argv() == std::vector<std::string>{"pg_isready", "-q"});
  REQUIRE(g.test == std::vector<std::string>{"CMD", "pg_isready", "-q"});
  REQUIRE((g.interval_s == 5 && g.timeout_s == 2 && g.retries == 10 && g.start_period_s == 300));
  REQUIRE_THROWS_WITH(plan(one(R"("healthCheck":{"command":["curl","x"]})")),
                      "containerDefinitions[0].healthCheck.command: expected [\"CMD\", args...] or [\"CMD-SHELL\", \"command\"]");
  REQUIRE_THROWS_WITH(plan(one(R"("healthCheck":{"command":["CMD"]})")),
                      "containerDefinitions[0].healthCheck.command: expected a command after \"CMD\"");
  REQUIRE_THROWS_WITH(plan(one(R"("healthCheck":{"command":["CMD","x"],"interval":4})")),
                      "containerDefinitions[0].healthCheck.interval: expected an integer from 5 to 300, got 4");
  REQUIRE_THROWS_WITH(plan(one(R"("healthCheck":{"command":["CMD","x"],"timeout":61})")),
                      "containerDefinitions[0].healthCheck.timeout: expected an integer from 2 to 60, got 61");
  REQUIRE_THROWS_WITH(plan(one(R"("healthCheck":{"command":["CMD","x"],"retries":0})")),
                      "containerDefinitions[0].healthCheck.retries: expected an integer from 1 to 10, got 0");
  REQUIRE_THROWS_WITH(plan(one(R"("healthCheck":{"command":["CMD","x"],"startPeriod":301})")),
                      "containerDefinitions[0].healthCheck.startPeriod: expected an integer from 0 to 300, got 301");
}

TEST_CASE("ecs: stopTimeout, startTimeout and ECS_CONTAINER_STOP_TIMEOUT", "[unit][ecs]") {
  REQUIRE(c0(plan(one(R"("stopTimeout":120,"startTimeout":60)"))).stop_timeout_s == 120);
  REQUIRE(c0(plan(one(R"("startTimeout":60)"))).start_timeout_s == 60);
  REQUIRE(c0(plan(one(R"("stopTimeout":0)"))).stop_timeout_s == 30);
  PlanOptions o;
  o.agent = agent_config_from({{"ECS_CONTAINER_STOP_TIMEOUT", "1m"}});
  REQUIRE(c0(plan(one(""), o)).stop_timeout_s == 60);
  REQUIRE(c0(plan(one(R"("stopTimeout":5)"), o)).stop_timeout_s == 5);
}

TEST_CASE("ecs: entryPoint, command, environment, workingDirectory, user", "[unit][ecs]") {
  auto p = plan(one(R"("entryPoint":["/bin/sh","-c"],"command":["echo hi"],
      "environment":[{"name":"A","value":"1"},{"name":"B"},{"name":"A","value":"2"}],
      "workingDirectory":"/srv","user":"nobody:nogroup")"));
  const auto& c = c0(p);
  REQUIRE(*c.entry_point == std::vector<std::string>{"/bin/sh", "-c"});
  REQUIRE(*c.command == std::vector<std::string>{"echo hi"});
  REQUIRE(c.env == EnvList{{"A", "2"}, {"B", ""}});
  REQUIRE(has_warning(p, "containerDefinitions[0].environment[2].name: A is set twice, the last one wins"));
  REQUIRE(c.working_dir == "/srv");
  REQUIRE(c.user == "nobody:nogroup");
  for (const char* u : {"1000", "1000:1000", "app", "app:staff", "app:50", "1000:staff"})
    REQUIRE(c0(plan(one(std::string(R"("user":")") + u + "\""))).user == u);
  REQUIRE_THROWS_WITH(plan(one(R"("user":"a:b:c")")),
                      "containerDefinitions[0].user: expected user, uid, user:group, uid:gid, user:gid or uid:group, "
                      "got \"a:b:c\"");
  REQUIRE_THROWS_WITH(plan(one(R"("workingDirectory":"srv")")),
                      "containerDefinitions[0].workingDirectory: expected an absolute path, got \"srv\"");
  REQUIRE_THROWS_WITH(plan(one(R"("environment":[{"name":"A=B","value":"1"}])")),
                      "containerDefinitions[0].environment[0].name: expected a variable name without '=', got \"A=B\"");
  REQUIRE(c0(plan(one(R"("entryPoint":[])"))).entry_point->empty());
}

TEST_CASE("ecs: ulimits, privileged, readonly rootfs, security options", "[unit][ecs]") {
  auto p = plan(one(R"("ulimits":[{"name":"nofile","softLimit":1024,"hardLimit":4096}],
      "privileged":true,"readonlyRootFilesystem":true,"interactive":true,"pseudoTerminal":true,
      "dockerSecurityOptions":["no-new-privileges","apparmor:docker-default"])"));
  const auto& c = c0(p);
  REQUIRE(c.ulimits.size() == 1);
  REQUIRE(c.ulimits[0].rlimit == "RLIMIT_NOFILE");
  REQUIRE((c.ulimits[0].soft == 1024 && c.ulimits[0].hard == 4096));
  REQUIRE(c.privileged);
  REQUIRE(c.readonly_rootfs);
  REQUIRE((c.interactive && c.pseudo_terminal && c.no_new_privileges));
  REQUIRE(c.apparmor_profile == "docker-default");
  REQUIRE(c.capabilities.size() == 41);  // privileged: every capability
  REQUIRE_THROWS_WITH(plan(one(R"("ulimits":[{"name":"files","softLimit":1,"hardLimit":1}])")),
                      "containerDefinitions[0].ulimits[0].name: unknown ulimit \"files\"");
  REQUIRE_THROWS_WITH(plan(one(R"("ulimits":[{"name":"nofile","softLimit":10,"hardLimit":1}])")),
                      "containerDefinitions[0].ulimits[0].softLimit: softLimit 10 is above hardLimit 1");
  REQUIRE_THROWS_WITH(plan(one(R"("ulimits":[{"name":"nofile","softLimit":1}])")),
                      "containerDefinitions[0].ulimits[0].hardLimit: required field is missing");
  REQUIRE_THROWS_WITH(plan(one(R"("dockerSecurityOptions":["seccomp:unconfined"])")),
                      "containerDefinitions[0].dockerSecurityOptions[0]: expected \"no-new-privileges\" or "
                      "\"apparmor:PROFILE\", got \"seccomp:unconfined\"");
}

TEST_CASE("ecs: linuxParameters", "[unit][ecs]") {
  auto p = plan(one(R"("linuxParameters":{
      "capabilities":{"add":["NET_ADMIN","sys_time"],"drop":["MKNOD","CAP_KILL"]},
      "initProcessEnabled":true,"sharedMemorySize":128,
      "tmpfs":[{"containerPath":"/run/","size":64,"mountOptions":["nosuid","mode=1777"]}],
      "devices":[{"hostPath":"/dev/fuse"},{"hostPath":"/dev/ttyUSB0","containerPath":"/dev/gps","permissions":["read"]}]})"));
  const auto& c = c0(p);
  REQUIRE(c.cap_add == std::vector<std::string>{"CAP_NET_ADMIN", "CAP_SYS_TIME"});
  REQUIRE(c.cap_drop == std::vector<std::string>{"CAP_MKNOD", "CAP_KILL"});
  auto has_cap = [&](const std::string& cap) {
    return std::find(c.capabilities.begin(), c.capabilities.end(), cap) != c.capabilities.end();
  };
  REQUIRE(has_cap("CAP_NET_ADMIN"));
  REQUIRE(has_cap("CAP_CHOWN"));
  REQUIRE_FALSE(has_cap("CAP_MKNOD"));
  REQUIRE_FALSE(has_cap("CAP_KILL"));
  REQUIRE(c.capabilities.size() == 14);
  REQUIRE(c.init_process);
  REQUIRE(*c.shm_size_bytes == 128 * MiB);
  REQUIRE(c.tmpfs.size() == 1);
  REQUIRE(c.tmpfs[0].container_path == "/run");
  REQUIRE(c.tmpfs[0].size_bytes == 64 * MiB);
  REQUIRE(c.tmpfs[0].options == std::vector<std::string>{"nosuid", "mode=1777"});
  REQUIRE(c.devices.size() == 2);
  REQUIRE((c.devices[0].container_path == "/dev/fuse" && c.devices[0].permissions == "rwm"));
  REQUIRE((c.devices[1].container_path == "/dev/gps" && c.devices[1].permissions == "r"));

  auto drop_all = c0(plan(one(R"("linuxParameters":{"capabilities":{"drop":["ALL"],"add":["CHOWN"]}})")));
  REQUIRE(drop_all.capabilities == std::vector<std::string>{"CAP_CHOWN"});
  auto add_all = c0(plan(one(R"("linuxParameters":{"capabilities":{"add":["ALL"],"drop":["SYS_ADMIN"]}})")));
  REQUIRE(add_all.capabilities.size() == 40);

  REQUIRE_THROWS_WITH(plan(one(R"("linuxParameters":{"capabilities":{"add":["FLY"]}})")),
                      "containerDefinitions[0].linuxParameters.capabilities.add[0]: unknown capability \"FLY\"");
  REQUIRE_THROWS_WITH(plan(one(R"("linuxParameters":{"tmpfs":[{"containerPath":"/x","size":1,"mountOptions":["fast"]}]})")),
                      "containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions[0]: unknown tmpfs mount option \"fast\"");
  REQUIRE_THROWS_WITH(plan(one(R"("linuxParameters":{"tmpfs":[{"containerPath":"/x"}]})")),
                      "containerDefinitions[0].linuxParameters.tmpfs[0].size: required field is missing");
  REQUIRE_THROWS_WITH(plan(one(R"("linuxParameters":{"devices":[{"hostPath":"/dev/x","permissions":["exec"]}]})")),
                      "containerDefinitions[0].linuxParameters.devices[0].permissions[0]: expected \"read\", \"write\" "
                      "or \"mknod\", got \"exec\"");
}

TEST_CASE("ecs: volumes and mountPoints", "[unit][ecs]") {
  auto p = plan(R"({"containerDefinitions":[
    {"name":"a","image":"x","memory":8,"mountPoints":[
      {"sourceVolume":"data","containerPath":"/data"},{"sourceVolume":"scratch","containerPath":"/scratch","readOnly":true},
      {"sourceVolume":"tmp","containerPath":"/tmp"},{"sourceVolume":"cache","containerPath":"/cache"},
      {"sourceVolume":"empty","containerPath":"/empty"}]},
    {"name":"b","image":"x","memory":8,"volumesFrom":[{"sourceContainer":"a","readOnly":true}],
     "mountPoints":[{"sourceVolume":"data","containerPath":"/data"}]}],
   "volumes":[{"name":"data","host":{"sourcePath":"/srv/data"}},{"name":"scratch"},{"name":"empty","host":{}},
     {"name":"tmp","dockerVolumeConfiguration":{"scope":"task","driver":"local","driverOpts":{"type":"tmpfs","device":"tmpfs","o":"size=64m"},"labels":{"k":"v"}}},
     {"name":"cache","dockerVolumeConfiguration":{"scope":"shared","autoprovision":true}}]})");
  REQUIRE(p.volumes.size() == 5);
  REQUIRE(p.volumes[0].kind == Volume::Kind::host);
  REQUIRE(p.volumes[0].host_path == "/srv/data");
  REQUIRE(p.volumes[1].kind == Volume::Kind::task_local);
  REQUIRE(p.volumes[2].kind == Volume::Kind::task_local);
  REQUIRE(p.volumes[3].kind == Volume::Kind::docker);
  REQUIRE(p.volumes[3].scope == "task");
  REQUIRE(p.volumes[3].driver_opts.at("type") == "tmpfs");
  REQUIRE(p.volumes[3].driver_opts.at("o") == "size=64m");
  REQUIRE(p.volumes[3].labels.at("k") == "v");
  REQUIRE(p.volumes[4].scope == "shared");
  REQUIRE(p.volumes[4].autoprovision);
  const auto& a = p.containers[0];
  REQUIRE(a.mounts.size() == 5);
  REQUIRE((a.mounts[1].volume == "scratch" && a.mounts[1].read_only));
  // b: its own /data, then a's other mounts read-only through volumesFrom.
  const auto& b = p.containers[1];
  REQUIRE(b.mounts.size() == 5);
  REQUIRE((b.mounts[0].destination == "/data" && !b.mounts[0].read_only && b.mounts[0].from_container.empty()));
  REQUIRE((b.mounts[1].destination == "/scratch" && b.mounts[1].read_only && b.mounts[1].from_container == "a"));
  REQUIRE((b.mounts[2].destination == "/tmp" && b.mounts[2].read_only));
  REQUIRE(p.start_order == std::vector<size_t>{0, 1});

  REQUIRE_THROWS_WITH(plan(one(R"("mountPoints":[{"sourceVolume":"nope","containerPath":"/x"}])")),
                      "containerDefinitions[0].mountPoints[0].sourceVolume: no volume \"nope\" in the task definition's volumes");
  REQUIRE_THROWS_WITH(plan(one(R"("mountPoints":[{"sourceVolume":"v","containerPath":"x"}])", R"("volumes":[{"name":"v"}])")),
                      "containerDefinitions[0].mountPoints[0].containerPath: expected an absolute path, got \"x\"");
  REQUIRE_THROWS_WITH(plan(one(R"("mountPoints":[{"sourceVolume":"v","containerPath":"/x"},{"sourceVolume":"v","containerPath":"/x/"}])",
                               R"("volumes":[{"name":"v"}])")),
                      "containerDefinitions[0].mountPoints[1]: containerPath \"/x\" is mounted twice");
  REQUIRE_THROWS_WITH(plan(one("", R"("volumes":[{"name":"v"},{"name":"v"}])")),
                      "volumes[1]: volume name \"v\" is used twice");
  REQUIRE_THROWS_WITH(plan(one("", R"("volumes":[{"name":"v","host":{"sourcePath":"rel"}}])")),
                      "volumes[0].host.sourcePath: expected an absolute path, got \"rel\"");
  REQUIRE_THROWS_WITH(plan(one("", R"("volumes":[{"name":"v","dockerVolumeConfiguration":{"driver":"rexray/ebs"}}])")),
                      "volumes[0].dockerVolumeConfiguration.driver: volume driver \"rexray/ebs\" is not supported by "
                      "ecsa; supported: local");
  REQUIRE_THROWS_WITH(plan(one("", R"("volumes":[{"name":"v","dockerVolumeConfiguration":{"scope":"global"}}])")),
                      "volumes[0].dockerVolumeConfiguration.scope: expected \"task\" or \"shared\", got \"global\"");
  REQUIRE_THROWS_WITH(plan(one("", R"("volumes":[{"name":"v","dockerVolumeConfiguration":{"driverOpts":{"size":"1g"}}}])")),
                      "volumes[0].dockerVolumeConfiguration.driverOpts.size: unknown option of the local volume driver "
                      "(known: type, device, o)");
  REQUIRE_THROWS_WITH(plan(one("", R"("volumes":[{"name":"v","host":{"sourcePath":"/a"},"dockerVolumeConfiguration":{}}])")),
                      "volumes[0].dockerVolumeConfiguration: cannot be used together with host");
  REQUIRE_THROWS_WITH(plan(one(R"("volumesFrom":[{"sourceContainer":"zz"}])")),
                      "containerDefinitions[0].volumesFrom[0].sourceContainer: no container \"zz\" in the task definition");
}

TEST_CASE("ecs: networking fields", "[unit][ecs]") {
  auto p = plan(R"({"containerDefinitions":[
    {"name":"web","image":"x","memory":8,"links":["db:database","cache"],"hostname":"web1",
     "dnsServers":["1.2.3.4","2001:db8::1"],"dnsSearchDomains":["example.com"],
     "extraHosts":[{"hostname":"gw","ipAddress":"10.0.0.1"}],"dockerLabels":{"team":"a"},
     "systemControls":[{"namespace":"net.core.somaxconn","value":"1024"},{"namespace":"kernel.shmmax","value":"1"}],
     "portMappings":[{"containerPort":80,"hostPort":8080},{"containerPort":53,"protocol":"udp"},
                     {"containerPortRange":"9000-9010","name":"range"}]},
    {"name":"db","image":"x","memory":8,"disableNetworking":false},
    {"name":"cache","image":"x","memory":8}]})");
  const auto& w = p.containers[0];
  REQUIRE(w.links.size() == 2);
  REQUIRE((w.links[0].container == "db" && w.links[0].alias == "database"));
  REQUIRE((w.links[1].container == "cache" && w.links[1].alias == "cache"));
  REQUIRE(w.hostname == "web1");
  REQUIRE(w.dns_servers == std::vector<std::string>{"1.2.3.4", "2001:db8::1"});
  REQUIRE(w.dns_search_domains == std::vector<std::string>{"example.com"});
  REQUIRE((w.extra_hosts.size() == 1 && w.extra_hosts[0].ip == "10.0.0.1"));
  REQUIRE(w.labels.at("team") == "a");
  REQUIRE(w.sysctls.at("net.core.somaxconn") == "1024");
  REQUIRE(w.ports.size() == 3);
  REQUIRE((w.ports[0].container_port == 80 && *w.ports[0].host_port == 8080 && w.ports[0].protocol == "tcp"));
  REQUIRE((w.ports[1].container_port == 53 && !w.ports[1].host_port && w.ports[1].protocol == "udp"));
  REQUIRE((w.ports[2].container_port == 9000 && w.ports[2].container_port_end == 9010 && w.ports[2].is_range()));
  REQUIRE_FALSE(w.ports[2].host_port);
  // links are start dependencies
  REQUIRE(p.start_order == std::vector<size_t>{1, 2, 0});

  REQUIRE_THROWS_WITH(plan(one(R"("dnsServers":["dns.google"])")),
                      "containerDefinitions[0].dnsServers[0]: expected an IP address, got \"dns.google\"");
  REQUIRE_THROWS_WITH(plan(one(R"("extraHosts":[{"hostname":"a","ipAddress":"300.1.1.1"}])")),
                      "containerDefinitions[0].extraHosts[0].ipAddress: expected an IP address, got \"300.1.1.1\"");
  REQUIRE_THROWS_WITH(plan(one(R"("links":["zz"])")),
                      "containerDefinitions[0].links[0]: no container \"zz\" in the task definition");
  REQUIRE_THROWS_WITH(plan(one(R"("links":["a:b:c"])")),
                      "containerDefinitions[0].links[0]: expected \"name\" or \"name:alias\", got \"a:b:c\"");
  REQUIRE_THROWS_WITH(plan(one(R"("links":["x"])", R"("networkMode":"host")")),
                      "containerDefinitions[0].links: links need networkMode bridge");
  REQUIRE_THROWS_WITH(plan(one(R"("systemControls":[{"namespace":"vm.swappiness","value":"1"}])")),
                      "containerDefinitions[0].systemControls[0].namespace: \"vm.swappiness\" is not a namespaced sysctl "
                      "(allowed: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)");
  REQUIRE_THROWS_WITH(plan(one(R"("systemControls":[{"namespace":"net.ipv4.ip_forward","value":"1"}])", R"("networkMode":"host")")),
                      "containerDefinitions[0].systemControls[0].namespace: \"net.ipv4.ip_forward\" cannot be set with "
                      "networkMode host (it would change the host)");
  REQUIRE_THROWS_WITH(plan(one(R"("systemControls":[{"namespace":"kernel.shmmax","value":"1"}])", R"("ipcMode":"host")")),
                      "containerDefinitions[0].systemControls[0].namespace: \"kernel.shmmax\" cannot be set with ipcMode "
                      "host (it would change the host)");
}

TEST_CASE("ecs: port mappings by network mode", "[unit][ecs]") {
  auto host = plan(one(R"("portMappings":[{"containerPort":80},{"containerPort":443,"hostPort":443}])",
                       R"("networkMode":"host")"));
  REQUIRE(host.network_mode == NetworkMode::host);
  REQUIRE(*c0(host).ports[0].host_port == 80);
  REQUIRE(*c0(host).ports[1].host_port == 443);
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPort":80,"hostPort":8080}])", R"("networkMode":"host")")),
                      "containerDefinitions[0].portMappings[0].hostPort: with networkMode host, hostPort must equal "
                      "containerPort (80), got 8080");
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPort":80}])", R"("networkMode":"none")")),
                      "containerDefinitions[0].portMappings: portMappings cannot be used with networkMode none");
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPortRange":"9000-9010"}])", R"("networkMode":"host")")),
                      "containerDefinitions[0].portMappings[0].containerPortRange: containerPortRange needs networkMode bridge");
  REQUIRE(plan(one("", R"("networkMode":"none")")).network_mode == NetworkMode::none);
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPort":0}])")),
                      "containerDefinitions[0].portMappings[0].containerPort: expected an integer from 1 to 65535, got 0");
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPort":80,"hostPort":70000}])")),
                      "containerDefinitions[0].portMappings[0].hostPort: expected an integer from 0 to 65535, got 70000");
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"hostPort":80}])")),
                      "containerDefinitions[0].portMappings[0].containerPort: required field is missing");
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPort":80,"protocol":"sctp"}])")),
                      "containerDefinitions[0].portMappings[0].protocol: expected \"tcp\" or \"udp\", got \"sctp\"");
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPortRange":"9010-9000"}])")),
                      "containerDefinitions[0].portMappings[0].containerPortRange: expected a port range like "
                      "\"8000-8010\", got \"9010-9000\"");
  REQUIRE_THROWS_WITH(plan(one(R"("portMappings":[{"containerPortRange":"9000-9010","containerPort":9000}])")),
                      "containerDefinitions[0].portMappings[0].containerPortRange: containerPortRange cannot be used "
                      "together with containerPort or hostPort");
  REQUIRE_THROWS_WITH(plan(R"({"containerDefinitions":[
      {"name":"a","image":"x","memory":8,"portMappings":[{"containerPort":80,"hostPort":8080}]},
      {"name":"b","image":"x","memory":8,"portMappings":[{"containerPort":81,"hostPort":8080}]}]})"),
                      "containerDefinitions[1].portMappings[0].hostPort: 8080/tcp is already used by "
                      "containerDefinitions[0].portMappings[0]");
  // The same port number on udp is another port.
  REQUIRE_NOTHROW(plan(one(R"("portMappings":[{"containerPort":53,"hostPort":53},{"containerPort":53,"hostPort":53,"protocol":"udp"}])")));
  auto ap = plan(one(R"("portMappings":[{"containerPort":80,"appProtocol":"http"}])"));
  REQUIRE(has_warning(ap, "containerDefinitions[0].portMappings[0].appProtocol: used only by Service Connect, ignored"));
}

TEST_CASE("ecs: pidMode and ipcMode", "[unit][ecs]") {
  auto p = plan(one("", R"("pidMode":"task","ipcMode":"host")"));
  REQUIRE(p.pid_mode == "task");
  REQUIRE(p.ipc_mode == "host");
  REQUIRE(plan(one("", R"("ipcMode":"none")")).ipc_mode == "none");
  REQUIRE_THROWS_WITH(plan(one("", R"("pidMode":"none")")), "pidMode: expected \"host\" or \"task\", got \"none\"");
  REQUIRE_THROWS_WITH(plan(one("", R"("ipcMode":"shareable")")),
                      "ipcMode: expected \"host\", \"task\" or \"none\", got \"shareable\"");
}

TEST_CASE("ecs: restartPolicy", "[unit][ecs]") {
  auto p = plan(one(R"("restartPolicy":{"enabled":true,"ignoredExitCodes":[0,143],"restartAttemptPeriod":60})"));
  const auto& r = *c0(p).restart_policy;
  REQUIRE(r.enabled);
  REQUIRE(r.ignored_exit_codes == std::vector<int>{0, 143});
  REQUIRE(r.attempt_period_s == 60);
  REQUIRE(c0(plan(one(R"("restartPolicy":{"enabled":true})"))).restart_policy->attempt_period_s == 300);
  REQUIRE_FALSE(c0(plan(one(""))).restart_policy);
  REQUIRE_THROWS_WITH(plan(one(R"("restartPolicy":{"enabled":true,"restartAttemptPeriod":10})")),
                      "containerDefinitions[0].restartPolicy.restartAttemptPeriod: expected an integer from 60 to 1800, got 10");
  REQUIRE_THROWS_WITH(plan(one(R"("restartPolicy":{"ignoredExitCodes":[1]})")),
                      "containerDefinitions[0].restartPolicy.enabled: required field is missing");
}

TEST_CASE("ecs: logConfiguration", "[unit][ecs]") {
  auto p = plan(one(R"("logConfiguration":{"logDriver":"json-file","options":{"max-size":"10m","max-file":"3"}})"));
  REQUIRE(c0(p).log.driver == "json-file");
  REQUIRE(c0(p).log.max_size_bytes == 10 * MiB);
  REQUIRE(c0(p).log.max_file == 3);
  REQUIRE(c0(plan(one(R"("logConfiguration":{"logDriver":"none"})"))).log.driver == "none");
  auto t = plan(one(R"("logConfiguration":{"logDriver":"json-file","options":{"tag":"x"}})"));
  REQUIRE(has_warning(t, "containerDefinitions[0].logConfiguration.options.tag: not implemented by ecsa's json-file "
                         "writer, ignored"));
  REQUIRE_THROWS_WITH(plan(one(R"("logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"g"}})")),
                      "containerDefinitions[0].logConfiguration.logDriver: \"awslogs\" is not supported by ecsa; "
                      "supported log drivers: json-file, none (ship the json-file logs with fluent-bit or the "
                      "CloudWatch agent tailing them)");
  for (const char* d : {"fluentd", "awsfirelens", "splunk", "syslog", "gelf", "journald"})
    REQUIRE_THROWS_WITH(plan(one(std::string(R"("logConfiguration":{"logDriver":")") + d + "\"}")),
                        Catch::Contains("is not supported by ecsa; supported log drivers: json-file, none"));
  REQUIRE_THROWS_WITH(plan(one(R"("logConfiguration":{"logDriver":"json-file","options":{"max-size":"big"}})")),
                      "containerDefinitions[0].logConfiguration.options.max-size: expected a size like \"10m\", got \"big\"");
  REQUIRE_THROWS_WITH(plan(one(R"("logConfiguration":{"logDriver":"json-file","options":{"max-file":"0"}})")),
                      "containerDefinitions[0].logConfiguration.options.max-file: expected a number of files from 1 to "
                      "1000, got \"0\"");
  REQUIRE_THROWS_WITH(plan(one(R"("logConfiguration":{"logDriver":"json-file","options":{"mode":"non-blocking"}})")),
                      "containerDefinitions[0].logConfiguration.options.mode: unknown option for the json-file log "
                      "driver (known: max-size, max-file, compress, labels, labels-regex, env, env-regex, tag)");
  REQUIRE_THROWS_WITH(plan(one(R"("logConfiguration":{"logDriver":"none","options":{"max-size":"1m"}})")),
                      "containerDefinitions[0].logConfiguration.options.max-size: the none log driver takes no options");
}

TEST_CASE("ecs: secrets, repositoryCredentials, roles", "[unit][ecs]") {
  auto p = plan(one(R"("secrets":[{"name":"DB_PASS","valueFrom":"arn:aws:ssm:eu-west-1:1:parameter/db"}],
      "repositoryCredentials":{"credentialsParameter":"arn:aws:secretsmanager:eu-west-1:1:secret:reg"})",
                    R"("taskRoleArn":"arn:aws:iam::1:role/task","executionRoleArn":"arn:aws:iam::1:role/exec")"));
  REQUIRE(c0(p).secrets.size() == 1);
  REQUIRE(c0(p).secrets[0].name == "DB_PASS");
  REQUIRE(c0(p).repository_credentials == "arn:aws:secretsmanager:eu-west-1:1:secret:reg");
  REQUIRE(p.task_role_arn == "arn:aws:iam::1:role/task");
  REQUIRE(p.execution_role_arn == "arn:aws:iam::1:role/exec");
}

TEST_CASE("ecs: RunTask overrides and --env", "[unit][ecs]") {
  std::string td = R"({"cpu":"1024","memory":"512","containerDefinitions":[
    {"name":"app","image":"x","command":["serve"],"cpu":256,"memory":128,
     "environment":[{"name":"MODE","value":"prod"},{"name":"KEEP","value":"1"}]},
    {"name":"side","image":"y","memory":64}]})";
  PlanOptions o;
  o.overrides = ecsa::json::parse(R"({"cpu":"512","memory":"1 GB","containerOverrides":[
      {"name":"app","command":["migrate","--all"],"environment":[{"name":"MODE","value":"dev"},{"name":"NEW","value":"2"}],
       "cpu":128,"memory":256,"memoryReservation":64}]})", "overrides");
  o.extra_env = {{"KEEP", "cli"}, {"EXTRA", "3"}};
  auto p = plan(td, o);
  REQUIRE(*p.resources.cpu_units == 512);
  REQUIRE(*p.resources.memory_mib == 1024);
  const auto& app = p.containers[0];
  REQUIRE(*app.command == std::vector<std::string>{"migrate", "--all"});
  REQUIRE(app.env == EnvList{{"MODE", "dev"}, {"KEEP", "cli"}, {"NEW", "2"}, {"EXTRA", "3"}});
  REQUIRE(app.cpu_units == 128);
  REQUIRE(*app.memory_bytes == 256 * MiB);
  REQUIRE(*app.memory_reservation_bytes == 64 * MiB);
  // --env reaches every container.
  REQUIRE(p.containers[1].env == EnvList{{"KEEP", "cli"}, {"EXTRA", "3"}});

  o.extra_env.clear();
  o.overrides = ecsa::json::parse(R"({"containerOverrides":[{"name":"nope","command":["x"]}]})", "o");
  REQUIRE_THROWS_WITH(plan(td, o), "overrides.containerOverrides[0].name: no container \"nope\" in the task definition");
  o.overrides = ecsa::json::parse(R"({"containerOverrides":[{"name":"app","memory":"big"}]})", "o");
  REQUIRE_THROWS_WITH(plan(td, o), "overrides.containerOverrides[0].memory: expected an integer, got \"big\"");
  o.overrides = ecsa::json::parse(R"({"containerOverrides":[{"name":"app","command":"x"}]})", "o");
  REQUIRE_THROWS_WITH(plan(td, o), "overrides.containerOverrides[0].command: expected an array, got \"x\"");
  // Overridden values must follow the same rules as written ones.
  o.overrides = ecsa::json::parse(R"({"containerOverrides":[{"name":"app","memory":1024}]})", "o");
  REQUIRE_THROWS_WITH(plan(td, o), "containerDefinitions[0].memory: 1024 MiB is more than the task memory (512 MiB)");
  o.overrides = ecsa::json::parse(R"({"containerOverrides":[{"name":"app","gpu":1}]})", "o");
  REQUIRE(has_warning(plan(td, o), "overrides.containerOverrides[0].gpu: unknown field, ignored"));
  o.overrides = ecsa::json::parse(R"({"ephemeralStorage":{"sizeInGiB":21}})", "o");
  REQUIRE_THROWS_WITH(plan(td, o), "overrides.ephemeralStorage: ephemeral storage (Fargate only) is not supported on "
                                   "ECS Anywhere (EXTERNAL instances)");
}

TEST_CASE("ecs: image pull behaviour and the plan as JSON", "[unit][ecs]") {
  PlanOptions o;
  o.agent = agent_config_from({{"ECS_IMAGE_PULL_BEHAVIOR", "prefer-cached"}});
  auto p = plan(R"({"family":"web","cpu":"256","containerDefinitions":[
      {"name":"a","image":"x","memory":8,"portMappings":[{"containerPort":80}],
       "healthCheck":{"command":["CMD","true"]}},
      {"name":"b","image":"y","memory":8,"dependsOn":[{"containerName":"a","condition":"HEALTHY"}]}]})", o);
  REQUIRE(p.pull_behavior == ImagePullBehavior::prefer_cached);
  auto j = p.to_json();
  REQUIRE(j["family"] == "web");
  REQUIRE(j["imagePullBehavior"] == "prefer-cached");
  REQUIRE(j["resources"]["cpuQuotaUs"] == 25000);
  REQUIRE(j["resources"]["cpuPeriodUs"] == 100000);
  REQUIRE(j["resources"]["cpuShares"].is_null());
  REQUIRE(j["containers"][0]["cpuShares"] == 2);
  REQUIRE(j["containers"][0]["memoryBytes"] == 8 * MiB);
  REQUIRE(j["containers"][0]["ports"][0]["hostPort"].is_null());
  REQUIRE(j["containers"][0]["healthCheck"]["interval"] == 30);
  REQUIRE(j["containers"][1]["dependsOn"][0]["condition"] == "HEALTHY");
  REQUIRE(j["startOrder"] == Json::array({"a", "b"}));
  REQUIRE(j["stopOrder"] == Json::array({"b", "a"}));
}

TEST_CASE("ecs: every field null, as older describe output prints them", "[unit][ecs]") {
  std::string container = R"({"name":"front","image":"front:1","memoryReservation":512,"essential":true)";
  for (const char* f : {"dnsSearchDomains", "environmentFiles", "logConfiguration", "entryPoint", "portMappings",
                        "command", "linuxParameters", "cpu", "environment", "resourceRequirements", "ulimits",
                        "dnsServers", "mountPoints", "workingDirectory", "secrets", "dockerSecurityOptions", "memory",
                        "volumesFrom", "stopTimeout", "startTimeout", "firelensConfiguration", "dependsOn",
                        "disableNetworking", "interactive", "healthCheck", "links", "hostname", "extraHosts",
                        "pseudoTerminal", "user", "readonlyRootFilesystem", "dockerLabels", "systemControls",
                        "privileged", "repositoryCredentials", "restartPolicy", "credentialSpecs", "versionConsistency"})
    container += std::string(",\"") + f + "\":null";
  container += "}";
  std::string task = R"({"taskDefinition":{"containerDefinitions":[)" + container + R"(],
      "family":"front","ipcMode":null,"executionRoleArn":null,"placementConstraints":[],"memory":null,
      "taskRoleArn":null,"compatibilities":["EC2","EXTERNAL"],"taskDefinitionArn":"arn:aws:ecs:r:1:task-definition/front:3",
      "requiresAttributes":[{"targetId":null,"targetType":null,"value":null,"name":"com.amazonaws.ecs.capability.ecr-auth"}],
      "pidMode":null,"requiresCompatibilities":["EXTERNAL"],"networkMode":null,"cpu":null,"revision":3,
      "status":"ACTIVE","inferenceAccelerators":null,"proxyConfiguration":null,"volumes":[],"runtimePlatform":null,
      "ephemeralStorage":null,"enableFaultInjection":null,"registeredAt":null,"registeredBy":null,"deregisteredAt":null}})";
  auto p = plan(task);
  REQUIRE(p.warnings.empty());
  REQUIRE(p.family == "front");
  REQUIRE(*p.revision == 3);
  const auto& c = c0(p);
  REQUIRE(c.essential);
  REQUIRE(c.cpu_shares == 2);
  REQUIRE(*c.memory_reservation_bytes == 512 * MiB);
  REQUIRE(c.log.driver == "json-file");
}
