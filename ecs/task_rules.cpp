#include "ecs/task_rules.hpp"

#include <algorithm>

namespace ecsa::ecs {

DependencyVerdict evaluate_dependencies(const ContainerPlan& c, const TaskPlan& plan,
                                        TaskRecord& record, double waited_s) {
  DependencyVerdict out;
  for (const auto& d : c.depends_on) {
    const ContainerRecord* dep = record.find(d.container);
    const ContainerPlan* dep_plan = plan.find(d.container);
    if (!dep || !dep_plan)
      return {DependencyState::failed, "dependency " + d.container + " does not exist"};
    bool stopped = dep->last_status == "STOPPED";
    std::string cond = to_string(d.condition);
    auto fail = [&](const std::string& what) {
      return DependencyVerdict{DependencyState::failed, "DependencyConditionNotSatisfied: " +
                                                            d.container + " " + cond + ": " + what};
    };
    switch (d.condition) {
      case DependencyCondition::start:
        if (dep->started) continue;
        if (stopped) return fail("it never started");
        break;
      case DependencyCondition::complete:
        if (stopped && dep->started) continue;
        if (stopped) return fail("it never started");
        break;
      case DependencyCondition::success:
        if (stopped && dep->exit_code && *dep->exit_code == 0) continue;
        if (stopped)
          return fail(dep->exit_code ? "it exited with " + std::to_string(*dep->exit_code)
                                     : "it never ran");
        break;
      case DependencyCondition::healthy:
        if (dep->health_status == "HEALTHY") continue;
        if (stopped) return fail("it stopped before it was healthy");
        break;
    }
    // Not met yet. START waits as long as it takes; the others time out.
    if (d.condition != DependencyCondition::start && waited_s > dep_plan->start_timeout_s)
      return fail("timed out after " + std::to_string(dep_plan->start_timeout_s) +
                  "s (startTimeout)");
    out.state = DependencyState::waiting;
  }
  return out;
}

HealthTracker::HealthTracker(const HealthCheck& hc, double started_at_s)
    : hc_(hc), started_at_(started_at_s), next_due_(started_at_s + hc.interval_s) {}

void HealthTracker::record(bool ok, double now) {
  next_due_ = now + hc_.interval_s;
  if (ok) {
    streak_ = 0;
    state_ = healthy;
    return;
  }
  // Failures during the start period do not count while the container is still starting.
  if (state_ == unknown && hc_.start_period_s > 0 && now < started_at_ + hc_.start_period_s) return;
  if (++streak_ >= hc_.retries) state_ = unhealthy;
}

const char* HealthTracker::status() const {
  return state_ == healthy ? "HEALTHY" : state_ == unhealthy ? "UNHEALTHY" : "UNKNOWN";
}

bool should_restart(const ContainerPlan& c, int exit_code, double ran_for_s, bool task_stopping) {
  if (!c.restart_policy || !c.restart_policy->enabled || task_stopping) return false;
  const auto& ignored = c.restart_policy->ignored_exit_codes;
  if (std::find(ignored.begin(), ignored.end(), exit_code) != ignored.end()) return false;
  return ran_for_s >= c.restart_policy->attempt_period_s;
}

}  // namespace ecsa::ecs
