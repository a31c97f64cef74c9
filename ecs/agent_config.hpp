// The ECS agent settings (ECS_* environment variables) that change how a task definition
// is applied, with the agent's defaults. Bad values fall back to the default with a
// warning, as the agent does.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ecsa::ecs {

// ECS_IMAGE_PULL_BEHAVIOR: default (pull, use the cached image if the pull fails),
// always (pull, fail if it fails), once (pull only if not cached yet), prefer-cached
// (use the cached image, pull if missing).
enum class ImagePullBehavior { default_, always, once, prefer_cached };
const char* to_string(ImagePullBehavior b);

struct AgentConfig {
  int64_t cpu_period_us = 100000;   // ECS_CGROUP_CPU_PERIOD, 8ms..100ms
  int stop_timeout_s = 30;          // ECS_CONTAINER_STOP_TIMEOUT, >= 1s
  int start_timeout_s = 180;        // ECS_CONTAINER_START_TIMEOUT
  bool task_cpu_mem_limit = true;   // ECS_ENABLE_TASK_CPU_MEM_LIMIT
  std::optional<int64_t> pids_limit;  // ECS_TASK_PIDS_LIMIT
  ImagePullBehavior pull_behavior = ImagePullBehavior::default_;
  std::vector<std::string> warnings;
};

// From a set of variables (tests) or from the process environment.
AgentConfig agent_config_from(const std::map<std::string, std::string>& env);
AgentConfig agent_config_from_environment();

// Go duration strings as the agent reads them: "30s", "100ms", "1m30s", "250us".
// Returns microseconds; std::nullopt if not a valid duration.
std::optional<int64_t> parse_go_duration_us(const std::string& s);

}  // namespace ecsa::ecs
