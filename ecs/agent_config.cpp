#include "ecs/agent_config.hpp"

#include <cctype>
#include <cstdlib>

#include "common/log.hpp"

extern char** environ;

namespace ecsa::ecs {

const char* to_string(ImagePullBehavior b) {
  switch (b) {
    case ImagePullBehavior::default_: return "default";
    case ImagePullBehavior::always: return "always";
    case ImagePullBehavior::once: return "once";
    case ImagePullBehavior::prefer_cached: return "prefer-cached";
  }
  return "default";
}

std::optional<int64_t> parse_go_duration_us(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s == "0") return 0;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == start) return std::nullopt;
    double value;
    try {
      value = std::stod(s.substr(start, i - start));
    } catch (...) {
      return std::nullopt;
    }
    size_t ustart = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(ustart, i - ustart);
    double scale;
    if (unit == "ns") scale = 0.001;
    else if (unit == "us" || unit == "µs") scale = 1;
    else if (unit == "ms") scale = 1000;
    else if (unit == "s") scale = 1e6;
    else if (unit == "m") scale = 60e6;
    else if (unit == "h") scale = 3600e6;
    else return std::nullopt;
    total += value * scale;
  }
  return static_cast<int64_t>(total);
}

namespace {

const std::string* lookup(const std::map<std::string, std::string>& env, const char* key) {
  auto it = env.find(key);
  if (it == env.end() || it->second.empty()) return nullptr;
  return &it->second;
}

void warn(AgentConfig& c, const std::string& msg) {
  c.warnings.push_back(msg);
  log::warn(msg);
}

}  // namespace

AgentConfig agent_config_from(const std::map<std::string, std::string>& env) {
  AgentConfig c;
  if (auto v = lookup(env, "ECS_CGROUP_CPU_PERIOD")) {
    // The agent accepts 8ms..100ms and otherwise keeps the default.
    auto us = parse_go_duration_us(*v);
    if (us && *us >= 8000 && *us <= 100000)
      c.cpu_period_us = *us;
    else
      warn(c, "ECS_CGROUP_CPU_PERIOD=" + *v + ": expected a duration from 8ms to 100ms, using 100ms");
  }
  if (auto v = lookup(env, "ECS_CONTAINER_STOP_TIMEOUT")) {
    auto us = parse_go_duration_us(*v);
    if (us && *us >= 1000000)
      c.stop_timeout_s = static_cast<int>(*us / 1000000);
    else
      warn(c, "ECS_CONTAINER_STOP_TIMEOUT=" + *v + ": expected a duration of at least 1s, using 30s");
  }
  if (auto v = lookup(env, "ECS_CONTAINER_START_TIMEOUT")) {
    auto us = parse_go_duration_us(*v);
    if (us && *us >= 45000000)
      c.start_timeout_s = static_cast<int>(*us / 1000000);
    else
      warn(c, "ECS_CONTAINER_START_TIMEOUT=" + *v + ": expected a duration of at least 45s, using 3m");
  }
  if (auto v = lookup(env, "ECS_ENABLE_TASK_CPU_MEM_LIMIT")) {
    if (*v == "false") c.task_cpu_mem_limit = false;
    else if (*v != "true")
      warn(c, "ECS_ENABLE_TASK_CPU_MEM_LIMIT=" + *v + ": expected true or false, using true");
  }
  if (auto v = lookup(env, "ECS_TASK_PIDS_LIMIT")) {
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (end && *end == 0 && n > 0 && n <= 4194304)
      c.pids_limit = n;
    else
      warn(c, "ECS_TASK_PIDS_LIMIT=" + *v + ": expected an integer from 1 to 4194304, ignored");
  }
  if (auto v = lookup(env, "ECS_IMAGE_PULL_BEHAVIOR")) {
    if (*v == "default") c.pull_behavior = ImagePullBehavior::default_;
    else if (*v == "always") c.pull_behavior = ImagePullBehavior::always;
    else if (*v == "once") c.pull_behavior = ImagePullBehavior::once;
    else if (*v == "prefer-cached") c.pull_behavior = ImagePullBehavior::prefer_cached;
    else
      warn(c, "ECS_IMAGE_PULL_BEHAVIOR=" + *v +
                  ": expected default, always, once or prefer-cached, using default");
  }
  return c;
}

AgentConfig agent_config_from_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    if (kv.rfind("ECS_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return agent_config_from(env);
}

}  // namespace ecsa::ecs
