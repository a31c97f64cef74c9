// What the runtime remembers about a container between commands: <root>/<id>/state.json,
// written atomically, plus the exec fifo whose presence means "created, not yet started"
// (`create`; `run` starts its init through a pipe and makes no fifo: runtime/run_start.hpp).
#pragma once
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::runtime {

enum class Status { creating, created, running, stopped };
const char* status_name(Status s);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;          // RFC 3339
  std::string owner;
  std::map<std::string, std::string> annotations;
  std::string cgroup_path;
  json::Json poststop_hooks = json::Json::array();  // spec hooks.poststop, for delete
  json::Json extra = json::Json::object();           // e.g. network bindings (other layers)

  json::Json to_json() const;
  static ContainerState from_json(const json::Json& j, const std::string& path);
};

// The state directory of one container under the runtime root.
class StateDir {
 public:
  StateDir(std::string root, std::string id);
  const std::string& dir() const { return dir_; }
  std::string fifo_path() const { return dir_ + "/exec.fifo"; }
  bool exists() const;
  ContainerState load() const;  // Error "container <id> does not exist" when missing
  void save(const ContainerState& s) const;
  void remove() const;

 private:
  std::string root_, id_, dir_;
};

// Validates a container ID (runc's rule: [A-Za-z0-9_+.-]+, not . or ..).
void validate_id(const std::string& id);

// Current status of a container from its state and the live process.
Status current_status(const StateDir& dir, const ContainerState& s);

// /proc/<pid>/stat start time, or 0 when the process is gone.
uint64_t process_start_time(pid_t pid);
// True when pid is alive (not a zombie) and still the same process (start time matches).
bool process_alive(pid_t pid, uint64_t start_time);


}  // namespace ecsa::runtime
