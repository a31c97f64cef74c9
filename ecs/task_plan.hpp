// The resolved plan of an ECS task: what the runtime applies, after the task definition
// was validated and translated as the ECS backend + agent + Docker would (cpu shares,
// CFS quota, memory bytes, defaults, start order). Nothing here has an id yet: the same
// plan serves `task validate` and, later, `task run`.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ecs/agent_config.hpp"

namespace ecsa::ecs {

enum class NetworkMode { bridge, host, none };
const char* to_string(NetworkMode m);

// dependsOn conditions (agent dependencygraph): START = dependency running (or already
// stopped), COMPLETE = stopped with any exit code, SUCCESS = stopped with 0, HEALTHY.
enum class DependencyCondition { start, complete, success, healthy };
const char* to_string(DependencyCondition c);

using EnvList = std::vector<std::pair<std::string, std::string>>;

// Sets name=value, replacing an existing entry in place (its position kept).
void env_set(EnvList& env, const std::string& name, const std::string& value);
// Sets name=value only if name is not in env yet.
void env_set_default(EnvList& env, const std::string& name, const std::string& value);

struct PortMapping {
  uint16_t container_port = 0;
  uint16_t container_port_end = 0;  // == container_port unless a containerPortRange
  // Host port; std::nullopt = dynamic (the runtime picks a free one, or a contiguous
  // range of the same size for a containerPortRange).
  std::optional<uint16_t> host_port;
  std::string protocol = "tcp";  // "tcp" | "udp"
  std::string name;              // portMappings[].name, informational
  bool is_range() const { return container_port_end != container_port; }
};

struct HealthCheck {
  // As Docker's Config.Healthcheck.Test: {"CMD", argv...} or {"CMD-SHELL", "script"}.
  std::vector<std::string> test;
  int interval_s = 30;
  int timeout_s = 5;
  int retries = 3;
  int start_period_s = 0;  // 0 = none
  // What to exec in the container: CMD -> the arguments, CMD-SHELL -> /bin/sh -c ...
  std::vector<std::string> argv() const;
};

struct Ulimit {
  std::string name;    // "nofile"
  std::string rlimit;  // "RLIMIT_NOFILE", as OCI process.rlimits[].type
  int64_t soft = 0;
  int64_t hard = 0;
};

struct Device {
  std::string host_path;
  std::string container_path;
  std::string permissions = "rwm";  // subset of "rwm" (read, write, mknod)
};

struct TmpfsMount {
  std::string container_path;
  int64_t size_bytes = 0;
  std::vector<std::string> options;  // mountOptions as given ("nosuid", "mode=1777", ...)
};

struct Dependency {
  std::string container;
  DependencyCondition condition = DependencyCondition::start;
};

struct Link {
  std::string container;
  std::string alias;  // == container when no alias was given
};

struct ExtraHost {
  std::string hostname;
  std::string ip;
};

struct RestartPolicy {
  bool enabled = false;
  std::vector<int> ignored_exit_codes;
  int attempt_period_s = 300;
};

// Docker json-file driver settings (the only writing driver ecsa has), or "none".
struct LogConfig {
  std::string driver = "json-file";  // "json-file" | "none"
  int64_t max_size_bytes = -1;       // -1 = no rotation
  int max_file = 1;
  std::map<std::string, std::string> options;  // as given
};

// A task volume (task definition `volumes[]`).
struct Volume {
  enum class Kind {
    host,        // host.sourcePath: bind mount of a host path
    task_local,  // no host / host {} / no sourcePath: an empty directory the task owns
    docker,      // dockerVolumeConfiguration with the local driver
  };
  std::string name;
  Kind kind = Kind::task_local;
  std::string host_path;       // Kind::host
  std::string scope = "task";  // Kind::docker: "task" (removed with the task) | "shared"
  bool autoprovision = false;  // Kind::docker, scope shared
  std::string driver = "local";
  std::map<std::string, std::string> driver_opts;  // local driver: type, device, o
  std::map<std::string, std::string> labels;
};
const char* to_string(Volume::Kind k);

struct Mount {
  std::string volume;  // task volume name (see TaskPlan::volumes)
  std::string destination;
  bool read_only = false;
  std::string from_container;  // set when it came from volumesFrom
};

struct VolumesFrom {
  std::string container;
  bool read_only = false;
};

struct Secret {
  std::string name;
  std::string value_from;  // SSM parameter or Secrets Manager ARN, fetched by `task run`
};

struct ContainerPlan {
  std::string name;
  std::string image;
  bool essential = true;

  int64_t cpu_units = 0;                // as written (0 = none)
  uint64_t cpu_shares = 2;              // cgroup cpu.shares: max(cpu, 2), at most 262144
  std::optional<int64_t> memory_bytes;  // hard limit (MiB*1MiB, >= 4 MiB)
  std::optional<int64_t> memory_reservation_bytes;  // soft limit
  std::optional<int64_t> memory_swap_bytes;         // memory + maxSwap (Docker --memory-swap)
  std::optional<int> swappiness;                    // only with maxSwap

  // std::nullopt = not given (the image's is used); an empty list = given empty.
  std::optional<std::vector<std::string>> entry_point;
  std::optional<std::vector<std::string>> command;
  EnvList env;  // environment files < environment < overrides < --env; image env not yet in
  std::vector<Secret> secrets;
  std::string working_dir;  // empty: the image's
  std::string user;         // empty: the image's

  std::vector<PortMapping> ports;
  std::vector<Mount> mounts;  // mountPoints, then those of volumesFrom
  std::vector<VolumesFrom> volumes_from;
  std::vector<Link> links;
  std::string hostname;
  std::vector<std::string> dns_servers;
  std::vector<std::string> dns_search_domains;
  std::vector<ExtraHost> extra_hosts;
  bool disable_networking = false;

  std::optional<HealthCheck> health_check;
  std::vector<Dependency> depends_on;
  int start_timeout_s = 180;  // waiting for COMPLETE/SUCCESS/HEALTHY dependencies
  int stop_timeout_s = 30;    // SIGTERM, then SIGKILL after this
  std::optional<RestartPolicy> restart_policy;

  bool privileged = false;
  bool readonly_rootfs = false;
  bool init_process = false;  // linuxParameters.initProcessEnabled (docker --init)
  bool interactive = false;   // OpenStdin
  bool pseudo_terminal = false;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::vector<std::string> cap_add;  // "CAP_NET_ADMIN", or "ALL"
  std::vector<std::string> cap_drop;
  // The resulting bounding/effective set by Docker's rules (privileged: all).
  std::vector<std::string> capabilities;
  std::optional<int64_t> shm_size_bytes;
  std::vector<TmpfsMount> tmpfs;
  std::vector<Device> devices;
  std::vector<Ulimit> ulimits;
  std::map<std::string, std::string> labels;   // dockerLabels
  std::map<std::string, std::string> sysctls;  // systemControls
  LogConfig log;
  std::string repository_credentials;  // Secrets Manager ARN for a private registry
};

struct TaskResources {
  std::optional<int64_t> cpu_units;  // task cpu (units, 1024 = 1 vCPU)
  // Task cgroup CPU: with task cpu a CFS quota per period, else shares (sum of containers').
  int64_t cpu_period_us = 100000;
  std::optional<int64_t> cpu_quota_us;
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> memory_mib;
  std::optional<int64_t> memory_limit_bytes;
  std::optional<int64_t> pids_limit;  // ECS_TASK_PIDS_LIMIT
};

struct TaskPlan {
  std::string family;
  std::optional<int64_t> revision;
  std::string arn;
  NetworkMode network_mode = NetworkMode::bridge;
  std::string pid_mode;  // "" | "task" | "host"
  std::string ipc_mode;  // "" | "task" | "host" | "none"
  std::string task_role_arn;
  std::string execution_role_arn;
  std::string cpu_architecture;  // runtimePlatform.cpuArchitecture: "" | "X86_64" | "ARM64"
  TaskResources resources;
  std::vector<Volume> volumes;
  std::vector<ContainerPlan> containers;
  std::vector<size_t> start_order;  // indices into containers; stop in reverse
  ImagePullBehavior pull_behavior = ImagePullBehavior::default_;
  std::vector<std::string> warnings;  // "<json path>: <what was ignored>"

  std::vector<size_t> stop_order() const { return {start_order.rbegin(), start_order.rend()}; }
  const ContainerPlan* find(const std::string& name) const;
  const Volume* find_volume(const std::string& name) const;
  nlohmann::json to_json() const;
};

nlohmann::json to_json(const ContainerPlan& c);

}  // namespace ecsa::ecs
