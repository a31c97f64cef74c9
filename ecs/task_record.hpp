// What ecsa remembers about a task between commands, and what `task describe` prints: the
// task and its containers as ECS DescribeTasks reports them (lastStatus, desiredStatus,
// stoppedReason, exitCode, reason, networkBindings, healthStatus). The supervisor is the only
// writer while it lives; every write is an atomic rename, so a reader or a crash never sees
// half a record.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::ecs {

struct ContainerRecord {
  std::string name;
  std::string runtime_id;  // the OCI runtime's container id: <task id>-<name>
  std::string image;
  bool essential = true;
  std::string last_status = "PENDING";  // PENDING | RUNNING | STOPPED
  std::optional<int> exit_code;
  std::string reason;         // why it stopped or never started
  std::string health_status;  // "" (no check) | UNKNOWN | HEALTHY | UNHEALTHY
  json::Json network_bindings = json::Json::array();
  pid_t pid = 0;
  int restart_count = 0;
  bool started = false;  // reached RUNNING at least once
  std::string started_at, stopped_at;
};

struct TaskRecord {
  std::string id;
  std::string family;
  std::optional<int64_t> revision;
  std::string task_definition_arn;
  std::string last_status = "PENDING";  // PENDING | RUNNING | STOPPED
  std::string desired_status = "RUNNING";
  std::string stopped_reason;
  std::string stop_code;  // EssentialContainerExited | UserInitiated | TaskFailedToStart
  std::string created_at, started_at, stopped_at;
  std::string cpu, memory;  // task-level, as given ("" = none)
  pid_t supervisor_pid = 0;
  uint64_t supervisor_start_time = 0;
  std::vector<ContainerRecord> containers;

  ContainerRecord* find(const std::string& name);
  // The DescribeTasks-like document.
  json::Json to_json() const;
  static TaskRecord from_json(const json::Json& j, const std::string& source);
  // The supervisor of a task that is not STOPPED is alive (same pid, same start time).
  bool supervisor_alive() const;
};

// <store>/tasks/<id>/: task.json (the record), input.json (what `task run` was given),
// logs/<container>-json.log, volumes/<name>/ (task-scoped volumes).
class TaskDir {
 public:
  TaskDir(const std::string& store_root, std::string id);
  static std::string tasks_root(const std::string& store_root);
  static std::vector<std::string> list_ids(const std::string& store_root);
  // A new task id: 32 lowercase hex digits, as ECS task ids.
  static std::string new_id();
  // Finds a task by its id or a unique prefix of it; Error when none or ambiguous.
  static TaskDir find(const std::string& store_root, const std::string& id_or_prefix);

  const std::string& id() const { return id_; }
  const std::string& dir() const { return dir_; }
  std::string record_path() const { return dir_ + "/task.json"; }
  std::string input_path() const { return dir_ + "/input.json"; }
  std::string stop_request_path() const { return dir_ + "/stop-request.json"; }
  std::string log_path(const std::string& container) const {
    return dir_ + "/logs/" + container + "-json.log";
  }
  std::string volume_dir(const std::string& volume) const { return dir_ + "/volumes/" + volume; }

  bool exists() const;
  TaskRecord load() const;
  void save(const TaskRecord& r) const;

 private:
  std::string id_, dir_;
};

// The runtime id of a task's container, and the cgroup paths (task, container).
std::string task_container_id(const std::string& task_id, const std::string& name);
std::string task_cgroup_path(const std::string& task_id);
std::string task_container_cgroup_path(const std::string& task_id, const std::string& name);

}  // namespace ecsa::ecs
