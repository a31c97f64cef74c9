// The per-task supervisor: one small process per running task (as podman's conmon, but one
// for the whole task), started by `task run` and detached from it. It is the parent (child
// subreaper) of the task's containers and applies the ECS agent's semantics: start order and
// dependsOn conditions, essential containers, restartPolicy, stopTimeout, health checks,
// OOM events, and Docker json-file logs of every container. Heavy work (image store, OCI
// bundle, network setup) runs in short-lived forked workers so the supervisor itself stays
// small. The task record (ecs/task_record.hpp) is its only output.
#pragma once
#include <string>

namespace ecsa::ecs {

struct SupervisorOptions {
  std::string runtime_root;  // the OCI runtime's --root
  std::string store_root;    // image store root ("" = $ECSA_STATE_DIR or /var/lib/ecsa)
  std::string task_id;
  // Receives "ready\n" once every essential container runs (or the task failed), and
  // "stopped\n" when the task stopped; then it is closed. -1: none.
  int notify_fd = -1;
};

// Runs the task to its end. Returns 0 when the task ran (whatever its containers' exit
// codes), 1 when it could not be supervised at all.
int supervise_task(const SupervisorOptions& opts);

// Sends the supervisor of a task a stop request (reason, stop timeout override in seconds,
// < 0 = each container's stopTimeout). Returns false if the supervisor is not running.
bool request_task_stop(const std::string& store_root, const std::string& task_id,
                       const std::string& reason, int timeout_s);

}  // namespace ecsa::ecs
