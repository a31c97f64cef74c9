#include "ecs/task_record.hpp"

#include <fcntl.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/state.hpp"

namespace ecsa::ecs {

using json::Json;

ContainerRecord* TaskRecord::find(const std::string& name) {
  for (auto& c : containers)
    if (c.name == name) return &c;
  return nullptr;
}

namespace {

void put_if(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

Json container_json(const ContainerRecord& c) {
  Json j = {{"name", c.name},
            {"runtimeId", c.runtime_id},
            {"image", c.image},
            {"essential", c.essential},
            {"lastStatus", c.last_status},
            {"networkBindings", c.network_bindings}};
  if (c.exit_code) j["exitCode"] = *c.exit_code;
  put_if(j, "reason", c.reason);
  put_if(j, "healthStatus", c.health_status);
  if (c.pid) j["pid"] = c.pid;
  if (c.restart_count) j["restartCount"] = c.restart_count;
  put_if(j, "startedAt", c.started_at);
  put_if(j, "stoppedAt", c.stopped_at);
  return j;
}

ContainerRecord container_from(const json::Node& n) {
  ContainerRecord c;
  c.name = n.at("name").str();
  c.runtime_id = n.str_or("runtimeId", "");
  c.image = n.str_or("image", "");
  c.essential = n.bool_or("essential", true);
  c.last_status = n.str_or("lastStatus", "PENDING");
  if (auto e = n.opt("exitCode")) c.exit_code = static_cast<int>(e->i64());
  c.reason = n.str_or("reason", "");
  c.health_status = n.str_or("healthStatus", "");
  if (auto b = n.opt("networkBindings")) c.network_bindings = b->raw();
  c.pid = static_cast<pid_t>(n.i64_or("pid", 0));
  c.restart_count = static_cast<int>(n.i64_or("restartCount", 0));
  c.started_at = n.str_or("startedAt", "");
  c.stopped_at = n.str_or("stoppedAt", "");
  c.started = !c.started_at.empty();
  return c;
}

}  // namespace

Json TaskRecord::to_json() const {
  Json j = {{"taskId", id}, {"lastStatus", last_status}, {"desiredStatus", desired_status}};
  put_if(j, "family", family);
  if (revision) j["revision"] = *revision;
  put_if(j, "taskDefinitionArn", task_definition_arn);
  put_if(j, "stoppedReason", stopped_reason);
  put_if(j, "stopCode", stop_code);
  put_if(j, "cpu", cpu);
  put_if(j, "memory", memory);
  put_if(j, "createdAt", created_at);
  put_if(j, "startedAt", started_at);
  put_if(j, "stoppedAt", stopped_at);
  if (supervisor_pid) {
    j["supervisor"] = {{"pid", supervisor_pid}, {"startTime", supervisor_start_time}};
  }
  j["containers"] = Json::array();
  for (const auto& c : containers) j["containers"].push_back(container_json(c));
  return j;
}

TaskRecord TaskRecord::from_json(const Json& doc, const std::string& source) {
  json::Node n(doc, source);
  TaskRecord r;
  r.id = n.at("taskId").str();
  r.family = n.str_or("family", "");
  if (auto v = n.opt("revision")) r.revision = v->i64();
  r.task_definition_arn = n.str_or("taskDefinitionArn", "");
  r.last_status = n.str_or("lastStatus", "PENDING");
  r.desired_status = n.str_or("desiredStatus", "RUNNING");
  r.stopped_reason = n.str_or("stoppedReason", "");
  r.stop_code = n.str_or("stopCode", "");
  r.cpu = n.str_or("cpu", "");
  r.memory = n.str_or("memory", "");
  r.created_at = n.str_or("createdAt", "");
  r.started_at = n.str_or("startedAt", "");
  r.stopped_at = n.str_or("stoppedAt", "");
  if (auto s = n.opt("supervisor")) {
    r.supervisor_pid = static_cast<pid_t>(s->i64_or("pid", 0));
    if (auto t = s->opt("startTime")) r.supervisor_start_time = t->u64();
  }
  if (auto cs = n.opt("containers"))
    for (const auto& c : cs->items()) r.containers.push_back(container_from(c));
  return r;
}

bool TaskRecord::supervisor_alive() const {
  return runtime::process_alive(supervisor_pid, supervisor_start_time);
}

TaskDir::TaskDir(const std::string& store_root, std::string id)
    : id_(std::move(id)), dir_(tasks_root(store_root) + "/" + id_) {
  if (id_.empty() || id_.find('/') != std::string::npos || id_ == "." || id_ == "..")
    throw Error("task id \"" + id_ + "\": not a valid id");
}

std::string TaskDir::tasks_root(const std::string& store_root) {
  return fs::join(store_root, "tasks");
}

std::vector<std::string> TaskDir::list_ids(const std::string& store_root) {
  std::vector<std::string> ids;
  std::string root = tasks_root(store_root);
  if (!fs::is_dir(root)) return ids;
  for (const auto& id : fs::list_dir(root))
    if (fs::exists(root + "/" + id + "/task.json")) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string TaskDir::new_id() {
  unsigned char b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("getrandom");
    }
    got += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char c : b) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  return id;
}

TaskDir TaskDir::find(const std::string& store_root, const std::string& id_or_prefix) {
  if (id_or_prefix.empty()) throw Error("task: an id is required");
  std::vector<std::string> hits;
  for (const auto& id : list_ids(store_root)) {
    if (id == id_or_prefix) return TaskDir(store_root, id);
    if (id.rfind(id_or_prefix, 0) == 0) hits.push_back(id);
  }
  if (hits.empty()) throw Error("task " + id_or_prefix + ": no such task");
  if (hits.size() > 1)
    throw Error("task " + id_or_prefix + ": ambiguous id prefix (" + std::to_string(hits.size()) +
                " tasks)");
  return TaskDir(store_root, hits[0]);
}

bool TaskDir::exists() const {
  return fs::exists(record_path());
}

TaskRecord TaskDir::load() const {
  auto text = fs::read_file_if_exists(record_path());
  if (!text) throw Error("task " + id_ + ": no such task");
  return TaskRecord::from_json(json::parse(*text, record_path()), record_path());
}

void TaskDir::save(const TaskRecord& r) const {
  // Durable: the record outlives reboots (task ls after a power loss must not lie).
  fs::write_file_atomic(record_path(), r.to_json().dump(2) + "\n", 0644);
}

std::string task_container_id(const std::string& task_id, const std::string& name) {
  return task_id + "-" + name;
}
std::string task_cgroup_path(const std::string& task_id) {
  return "/ecsa/" + task_id;
}
std::string task_container_cgroup_path(const std::string& task_id, const std::string& name) {
  return "/ecsa/" + task_id + "/" + name;
}

}  // namespace ecsa::ecs
