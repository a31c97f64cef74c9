// The task supervisor's rules without processes: dependsOn conditions and timeouts, the
// health state machine, restartPolicy, and the task record's JSON round trip.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "ecs/task_record.hpp"
#include "ecs/task_rules.hpp"
#include "tests/support/process_harness.hpp"

using namespace ecsa::ecs;

namespace {

TaskPlan two_containers(DependencyCondition cond) {
  TaskPlan p;
  ContainerPlan dep, app;
  dep.name = "dep";
  dep.essential = false;
  dep.start_timeout_s = 10;
  app.name = "app";
  app.depends_on.push_back({"dep", cond});
  p.containers = {dep, app};
  p.start_order = {0, 1};
  return p;
}

TaskRecord record_for(const TaskPlan& p) {
  TaskRecord r;
  r.id = "t";
  for (const auto& c : p.containers) {
    ContainerRecord cr;
    cr.name = c.name;
    r.containers.push_back(cr);
  }
  return r;
}

}  // namespace

TEST_CASE("dependsOn START waits for the dependency to run, fails if it never did", "[unit][ecs]") {
  TaskPlan p = two_containers(DependencyCondition::start);
  TaskRecord r = record_for(p);
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 1000).state ==
          DependencyState::waiting);  // no timeout
  r.find("dep")->last_status = "RUNNING";
  r.find("dep")->started = true;
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 0).state == DependencyState::satisfied);
  r.find("dep")->last_status = "STOPPED";
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 0).state ==
          DependencyState::satisfied);  // ran, then stopped
  r.find("dep")->started = false;
  auto v = evaluate_dependencies(p.containers[1], p, r, 0);
  REQUIRE(v.state == DependencyState::failed);
  REQUIRE(v.why == "DependencyConditionNotSatisfied: dep START: it never started");
}

TEST_CASE("dependsOn COMPLETE and SUCCESS look at the exit, with the dependency's startTimeout",
          "[unit][ecs]") {
  TaskPlan p = two_containers(DependencyCondition::success);
  TaskRecord r = record_for(p);
  auto& dep = *r.find("dep");
  dep.last_status = "RUNNING";
  dep.started = true;
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 5).state == DependencyState::waiting);
  auto timeout = evaluate_dependencies(p.containers[1], p, r, 11);
  REQUIRE(timeout.state == DependencyState::failed);
  REQUIRE(timeout.why.find("timed out after 10s (startTimeout)") != std::string::npos);
  dep.last_status = "STOPPED";
  dep.exit_code = 3;
  auto failed = evaluate_dependencies(p.containers[1], p, r, 0);
  REQUIRE(failed.state == DependencyState::failed);
  REQUIRE(failed.why == "DependencyConditionNotSatisfied: dep SUCCESS: it exited with 3");
  dep.exit_code = 0;
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 0).state == DependencyState::satisfied);

  TaskPlan q = two_containers(DependencyCondition::complete);
  TaskRecord s = record_for(q);
  s.find("dep")->last_status = "STOPPED";
  s.find("dep")->started = true;
  s.find("dep")->exit_code = 3;
  REQUIRE(evaluate_dependencies(q.containers[1], q, s, 0).state == DependencyState::satisfied);
}

TEST_CASE("dependsOn HEALTHY needs the dependency's health status", "[unit][ecs]") {
  TaskPlan p = two_containers(DependencyCondition::healthy);
  TaskRecord r = record_for(p);
  auto& dep = *r.find("dep");
  dep.last_status = "RUNNING";
  dep.started = true;
  dep.health_status = "UNKNOWN";
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 1).state == DependencyState::waiting);
  dep.health_status = "HEALTHY";
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 1).state == DependencyState::satisfied);
  dep.health_status = "UNKNOWN";
  dep.last_status = "STOPPED";
  REQUIRE(evaluate_dependencies(p.containers[1], p, r, 1).state == DependencyState::failed);
}

TEST_CASE("health checks: start period, retries, recovery", "[unit][ecs]") {
  HealthCheck hc;
  hc.interval_s = 5;
  hc.retries = 2;
  hc.start_period_s = 20;
  HealthTracker h(hc, 100);
  REQUIRE(h.next_due() == 105);
  REQUIRE(std::string(h.status()) == "UNKNOWN");
  h.record(false, 105);  // inside the start period: not counted
  h.record(false, 110);
  REQUIRE(h.failing_streak() == 0);
  REQUIRE(std::string(h.status()) == "UNKNOWN");
  REQUIRE(h.next_due() == 115);
  h.record(false, 121);
  REQUIRE(std::string(h.status()) == "UNKNOWN");
  h.record(false, 126);
  REQUIRE(std::string(h.status()) == "UNHEALTHY");
  h.record(true, 131);
  REQUIRE(std::string(h.status()) == "HEALTHY");
  REQUIRE(h.failing_streak() == 0);

  // A success inside the start period counts at once.
  HealthTracker quick(hc, 0);
  quick.record(true, 5);
  REQUIRE(std::string(quick.status()) == "HEALTHY");
  quick.record(false, 10);  // after the first success the start period no longer shields
  quick.record(false, 15);
  REQUIRE(std::string(quick.status()) == "UNHEALTHY");
}

TEST_CASE("restartPolicy: ignored codes, attempt period, stopping task", "[unit][ecs]") {
  ContainerPlan c;
  REQUIRE_FALSE(should_restart(c, 1, 1000, false));  // no policy
  c.restart_policy = RestartPolicy{true, {0, 2}, 60};
  REQUIRE(should_restart(c, 1, 61, false));
  REQUIRE_FALSE(should_restart(c, 1, 59, false));   // ran less than restartAttemptPeriod
  REQUIRE_FALSE(should_restart(c, 2, 100, false));  // ignored exit code
  REQUIRE_FALSE(should_restart(c, 1, 100, true));   // the task is stopping
  c.restart_policy->enabled = false;
  REQUIRE_FALSE(should_restart(c, 1, 100, false));
}

TEST_CASE("task records round-trip through JSON and are found by id prefix", "[unit][ecs]") {
  TaskRecord r;
  r.id = "0123456789abcdef0123456789abcdef";
  r.family = "web";
  r.revision = 3;
  r.last_status = "STOPPED";
  r.desired_status = "STOPPED";
  r.stopped_reason = "Essential container in task exited";
  r.stop_code = "EssentialContainerExited";
  ContainerRecord c;
  c.name = "app";
  c.runtime_id = task_container_id(r.id, "app");
  c.last_status = "STOPPED";
  c.exit_code = 137;
  c.reason = "OutOfMemoryError: Container killed due to memory usage";
  c.health_status = "UNHEALTHY";
  c.network_bindings = {
      {{"bindIP", "0.0.0.0"}, {"containerPort", 80}, {"hostPort", 49153}, {"protocol", "tcp"}}};
  c.started_at = "2026-01-01T00:00:00Z";
  r.containers.push_back(c);
  auto j = r.to_json();
  REQUIRE(j["containers"][0]["exitCode"] == 137);
  REQUIRE(j["containers"][0]["networkBindings"][0]["hostPort"] == 49153);
  TaskRecord back = TaskRecord::from_json(j, "test");
  REQUIRE(back.to_json() == j);
  REQUIRE(back.containers[0].started);

  ecsa::test::TempDir tmp("ecsa-taskdir");
  TaskDir dir(tmp.path(), r.id);
  ecsa::fs::mkdir_p(dir.dir());
  dir.save(r);
  REQUIRE(TaskDir::find(tmp.path(), "0123").id() == r.id);
  REQUIRE_THROWS_WITH(TaskDir::find(tmp.path(), "ff"), "task ff: no such task");
  TaskDir other(tmp.path(), "0123ffff");
  ecsa::fs::mkdir_p(other.dir());
  other.save(r);
  REQUIRE_THROWS_WITH(TaskDir::find(tmp.path(), "0123"), Catch::Contains("ambiguous"));
  REQUIRE(TaskDir::new_id().size() == 32);
  REQUIRE(TaskDir::new_id() != TaskDir::new_id());
  REQUIRE(task_container_cgroup_path(r.id, "app") == "/ecsa/" + r.id + "/app");
}
