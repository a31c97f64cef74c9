// The ECS agent's rules for a task's containers, as pure functions of the task record so
// that they are tested without processes: when a container may start (dependsOn conditions
// and their timeouts), how health check results become a health status, and when an exited
// container is restarted (restartPolicy).
#pragma once
#include <string>

#include "ecs/task_plan.hpp"
#include "ecs/task_record.hpp"

namespace ecsa::ecs {

enum class DependencyState { satisfied, waiting, failed };
struct DependencyVerdict {
  DependencyState state = DependencyState::satisfied;
  std::string why;  // for failed: the container's stop reason
};

// `c`'s dependsOn against the record. `waited_s`: how long `c` has waited so far; a
// COMPLETE, SUCCESS or HEALTHY condition still unmet after the dependency's startTimeout
// fails (the agent's hasDependencyTimedOut).
DependencyVerdict evaluate_dependencies(const ContainerPlan& c, const TaskPlan& plan,
                                        TaskRecord& record, double waited_s);

// Docker's health state machine: starting (ECS UNKNOWN) until the first success; a failure
// inside the start period does not count; `retries` consecutive failures make it unhealthy;
// a success makes it healthy again.
class HealthTracker {
 public:
  HealthTracker(const HealthCheck& hc, double started_at_s);
  double next_due() const { return next_due_; }
  // A probe finished (ok: exit status 0 within the timeout) at `now`.
  void record(bool ok, double now);
  const char* status() const;  // "UNKNOWN" | "HEALTHY" | "UNHEALTHY"
  int failing_streak() const { return streak_; }

 private:
  HealthCheck hc_;
  double started_at_;
  double next_due_;
  int streak_ = 0;
  enum { unknown, healthy, unhealthy } state_ = unknown;
};

// restartPolicy (the agent's restart tracker): restart unless the task is stopping, the
// exit code is ignored, or the container ran less than restartAttemptPeriod seconds since
// its last (re)start.
bool should_restart(const ContainerPlan& c, int exit_code, double ran_for_s, bool task_stopping);

}  // namespace ecsa::ecs
