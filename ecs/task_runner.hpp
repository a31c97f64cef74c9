// The command side of ECS tasks: `task run` (record, images, then a detached supervisor),
// `task stop`, `task rm`, and `gc` of tasks whose supervisor died. The supervisor
// (ecs/task_supervisor.hpp) does the rest.
#pragma once
#include <string>
#include <vector>

#include "ecs/task_input.hpp"
#include "ecs/task_record.hpp"
#include "oci/progress.hpp"

namespace ecsa::ecs {

struct RunTaskOptions {
  std::string runtime_root;           // OCI runtime --root
  std::string store_root;             // "" = $ECSA_STATE_DIR or /var/lib/ecsa
  oci::Progress* progress = nullptr;  // image pulls
  bool wait = false;                  // stay until the task stopped
  // The binary to exec as the supervisor ("" = /proc/self/exe).
  std::string self_exe;
};

// Records the task, makes sure its images are there (ECS_IMAGE_PULL_BEHAVIOR), starts its
// supervisor and returns once every essential container runs or the task stopped (with
// `wait`: once it stopped). The record then is as `task describe` shows it.
TaskRecord run_task(const TaskInput& input, const TaskPlan& plan, const RunTaskOptions& opts);

// The exit status of `task run --wait`: the exit code of the essential container that
// stopped the task (the first essential one with an exit code), else 1 when it failed.
int task_exit_code(const TaskRecord& r);

// Stops a task: through its supervisor (SIGTERM, then SIGKILL after the stop timeout:
// each container's stopTimeout, or timeout_s >= 0), or directly when the supervisor is gone.
// Returns the final record.
TaskRecord stop_task(const std::string& store_root, const std::string& runtime_root,
                     const std::string& id, int timeout_s,
                     const std::string& reason = "Task stopped by user");

// Removes a stopped task's files (logs, record). force: stop it first.
void remove_task(const std::string& store_root, const std::string& runtime_root,
                 const std::string& id, bool force);

// Tasks whose supervisor died (killed, power loss): their containers are stopped and
// removed, the task recorded STOPPED. Returns the ids handled.
std::vector<std::string> gc_tasks(const std::string& store_root, const std::string& runtime_root);

// The runtime ids of the containers of tasks not stopped yet (for `gc`, which must not take
// the files of a container being created for leftovers).
std::vector<std::string> task_runtime_ids(const std::string& store_root);

}  // namespace ecsa::ecs
