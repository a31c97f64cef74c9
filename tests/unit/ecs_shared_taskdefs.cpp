// The real task definitions in shared/taskdefs (from the ECS agent's functional tests):
// each one reads without warnings and gives the settings its upstream test relies on.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/fs.hpp"
#include "ecs/task_definition.hpp"

using namespace ecsa::ecs;
using Args = std::vector<std::string>;

namespace {

constexpr int64_t MiB = 1024 * 1024;

// shared/ sits beside the repository (../shared), or where ECSA_SHARED says.
std::string taskdefs_dir() {
  std::vector<std::string> candidates;
  if (const char* s = std::getenv("ECSA_SHARED")) {
    candidates.push_back(std::string(s) + "/taskdefs");
    candidates.push_back(s);
  }
  if (const char* b = std::getenv("ECSA_BUILD")) candidates.push_back(std::string(b) + "/../../shared/taskdefs");
  candidates.push_back("../shared/taskdefs");
  for (const auto& c : candidates)
    if (ecsa::fs::is_dir(c + "/ecs-agent-functional")) return c + "/ecs-agent-functional";
  FAIL("shared/taskdefs not found: set ECSA_SHARED to the shared directory");
  return "";
}

TaskPlan load(const std::string& name) {
  return plan_task_file(taskdefs_dir() + "/" + name + "/task-definition.json", PlanOptions{});
}

}  // namespace

TEST_CASE("ecs shared taskdefs: every one reads without warnings", "[unit][ecs]") {
  std::string dir = taskdefs_dir();
  int count = 0;
  for (const auto& name : ecsa::fs::list_dir(dir)) {
    std::string file = dir + "/" + name + "/task-definition.json";
    if (!ecsa::fs::exists(file)) continue;
    INFO(file);
    TaskPlan p = plan_task_file(file, PlanOptions{});
    REQUIRE(p.warnings.empty());
    REQUIRE_FALSE(p.containers.empty());
    REQUIRE_NOTHROW(p.to_json().dump());
    ++count;
  }
  REQUIRE(count >= 9);
}

TEST_CASE("ecs shared taskdefs: what each upstream test relies on", "[unit][ecs]") {
  {
    auto p = load("simple-exit");
    const auto& c = p.containers.at(0);
    REQUIRE(c.name == "exit");
    REQUIRE(c.image == "127.0.0.1:51670/busybox:latest");
    REQUIRE(*c.command == Args{"sh", "-c", "exit 42"});
    REQUIRE(c.essential);
    REQUIRE(c.cpu_shares == 10);
    REQUIRE(*c.memory_bytes == 64 * MiB);
    REQUIRE(*p.resources.cpu_shares == 10);
    REQUIRE_FALSE(p.resources.memory_limit_bytes);
  }
  REQUIRE(load("hostname").containers.at(0).hostname == "foobarbaz");
  REQUIRE(load("working-dir").containers.at(0).working_dir == "/var");
  REQUIRE(load("dns-servers").containers.at(0).dns_servers == Args{"1.2.3.4"});
  {
    auto p = load("task-local-vol");
    REQUIRE(p.volumes.size() == 1);
    const auto& v = p.volumes[0];
    REQUIRE(v.kind == Volume::Kind::docker);
    REQUIRE(v.scope == "task");
    REQUIRE(v.driver_opts.at("type") == "tmpfs");
    REQUIRE(v.driver_opts.at("device") == "tmpfs");
    REQUIRE(v.labels.at("mylables") == "test");
    const auto& c = p.containers.at(0);
    REQUIRE(c.mounts.size() == 1);
    REQUIRE(c.mounts[0].volume == "task-local");
    REQUIRE(c.mounts[0].destination == "/ecs");
    REQUIRE(*c.memory_bytes == 256 * MiB);
    REQUIRE(*c.memory_reservation_bytes == 128 * MiB);
  }
  {
    auto p = load("container-ordering-success");
    REQUIRE(p.containers[0].name == "success");
    REQUIRE(p.containers[0].depends_on.at(0).condition == DependencyCondition::success);
    REQUIRE_FALSE(p.containers[1].essential);
    REQUIRE(p.start_order == std::vector<size_t>{1, 0});
    REQUIRE(p.stop_order() == std::vector<size_t>{0, 1});
    REQUIRE(p.volumes.at(0).kind == Volume::Kind::task_local);
    REQUIRE(p.containers[0].working_dir == "/test");
  }
  {
    auto p = load("container-health");
    const auto& h = *p.containers.at(0).health_check;
    REQUIRE(h.test == Args{"CMD-SHELL", "echo hello"});
    REQUIRE(h.argv() == Args{"/bin/sh", "-c", "echo hello"});
    REQUIRE((h.interval_s == 5 && h.timeout_s == 2 && h.retries == 3 && h.start_period_s == 1));
    REQUIRE(load("container-health-no-start-period").containers.at(0).health_check->start_period_s == 0);
  }
  {
    auto p = load("oom-container");
    const auto& c = p.containers.at(0);
    REQUIRE(c.cpu_shares == 2);  // cpu 1 -> the minimum 2
    REQUIRE(*c.memory_bytes == 64 * MiB);
    REQUIRE_FALSE(c.memory_swap_bytes);
    REQUIRE_FALSE(c.entry_point);  // the image's entrypoint runs with these arguments
    REQUIRE(*c.command == Args{"-concurrency", "10", "-memory", "100"});
  }
}
