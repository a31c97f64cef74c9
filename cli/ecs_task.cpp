// `ecsa-run task ...`: ECS tasks. For now `task validate`, which reads a task definition
// (with RunTask overrides) and prints the resolved plan that `task run` will apply.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "ecs/task_definition.hpp"

namespace ecsa::cli {
namespace {

constexpr const char* kTaskUsage =
    "Usage: ecsa-run task COMMAND [ARGS...]\n\n"
    "Commands:\n"
    "  validate   check a task definition and print the resolved plan\n\n"
    "Run 'ecsa-run task COMMAND --help' for a command's options.\n";

constexpr const char* kValidateUsage =
    "Usage: ecsa-run task validate TASKDEF.json [--overrides JSON] [--env K=V]... [--format json]\n\n"
    "Reads a task definition (RegisterTaskDefinition input, `aws ecs describe-task-definition`\n"
    "output, or an array of container definitions), applies RunTask-style overrides and\n"
    "prints what ecsa would run: cgroup limits, per-container settings, start order.\n"
    "Agent settings come from the environment (ECS_CGROUP_CPU_PERIOD,\n"
    "ECS_CONTAINER_STOP_TIMEOUT, ECS_IMAGE_PULL_BEHAVIOR, ...).\n\n"
    "Options:\n"
    "  --overrides JSON   RunTask overrides: JSON text, or file://PATH or @PATH\n"
    "                     ({\"containerOverrides\":[{\"name\",\"command\",\"environment\",\"cpu\",\n"
    "                     \"memory\",\"memoryReservation\"}],\"cpu\",\"memory\"})\n"
    "  --env K=V          set an environment variable in every container (repeatable)\n"
    "  --format FORMAT    text (default) or json\n"
    "  -h, --help         show this help\n";

std::string mib(int64_t bytes) { return std::to_string(bytes / (1024 * 1024)) + " MiB"; }

std::string join(const std::vector<std::string>& v, const std::string& sep = " ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

void print_text(const ecs::TaskPlan& plan) {
  const auto& r = plan.resources;
  std::printf("task %s (network %s)\n", plan.family.empty() ? "(no family)" : plan.family.c_str(),
              ecs::to_string(plan.network_mode));
  if (r.cpu_quota_us)
    std::printf("  cpu: %lld units -> quota %lld us per %lld us\n", static_cast<long long>(*r.cpu_units),
                static_cast<long long>(*r.cpu_quota_us), static_cast<long long>(r.cpu_period_us));
  else if (r.cpu_shares)
    std::printf("  cpu: no task cpu -> shares %llu (sum of the containers')\n",
                static_cast<unsigned long long>(*r.cpu_shares));
  if (r.memory_limit_bytes) std::printf("  memory: limit %s\n", mib(*r.memory_limit_bytes).c_str());
  else std::printf("  memory: no task limit\n");
  if (!plan.pid_mode.empty()) std::printf("  pidMode: %s\n", plan.pid_mode.c_str());
  if (!plan.ipc_mode.empty()) std::printf("  ipcMode: %s\n", plan.ipc_mode.c_str());
  for (const auto& v : plan.volumes) {
    std::printf("  volume %s: %s", v.name.c_str(), ecs::to_string(v.kind));
    if (v.kind == ecs::Volume::Kind::host) std::printf(" %s", v.host_path.c_str());
    if (v.kind == ecs::Volume::Kind::docker) std::printf(" scope %s driver %s", v.scope.c_str(), v.driver.c_str());
    std::printf("\n");
  }
  std::vector<std::string> order;
  for (size_t i : plan.start_order) order.push_back(plan.containers[i].name);
  std::printf("  start order: %s\n", join(order, ", ").c_str());
  std::printf("  image pull: %s\n", ecs::to_string(plan.pull_behavior));
  for (const auto& c : plan.containers) {
    std::printf("container %s%s\n", c.name.c_str(), c.essential ? " (essential)" : "");
    std::printf("  image: %s\n", c.image.c_str());
    std::printf("  cpu shares: %llu\n", static_cast<unsigned long long>(c.cpu_shares));
    if (c.memory_bytes) std::printf("  memory: %s\n", mib(*c.memory_bytes).c_str());
    if (c.memory_reservation_bytes) std::printf("  memory reservation: %s\n", mib(*c.memory_reservation_bytes).c_str());
    if (c.entry_point) std::printf("  entryPoint: %s\n", join(*c.entry_point).c_str());
    if (c.command) std::printf("  command: %s\n", join(*c.command).c_str());
    for (const auto& [k, v] : c.env) std::printf("  env %s=%s\n", k.c_str(), v.c_str());
    if (!c.working_dir.empty()) std::printf("  workingDirectory: %s\n", c.working_dir.c_str());
    if (!c.user.empty()) std::printf("  user: %s\n", c.user.c_str());
    for (const auto& p : c.ports) {
      std::string host = p.host_port ? std::to_string(*p.host_port) : "dynamic";
      std::string cport = std::to_string(p.container_port);
      if (p.is_range()) cport += "-" + std::to_string(p.container_port_end);
      std::printf("  port %s/%s <- host %s\n", cport.c_str(), p.protocol.c_str(), host.c_str());
    }
    for (const auto& m : c.mounts)
      std::printf("  mount %s -> %s%s\n", m.volume.c_str(), m.destination.c_str(), m.read_only ? " (ro)" : "");
    if (c.health_check)
      std::printf("  health: %s every %ds, timeout %ds, retries %d, start period %ds\n",
                  join(c.health_check->test).c_str(), c.health_check->interval_s, c.health_check->timeout_s,
                  c.health_check->retries, c.health_check->start_period_s);
    for (const auto& d : c.depends_on)
      std::printf("  depends on %s (%s)\n", d.container.c_str(), ecs::to_string(d.condition));
    std::printf("  stop timeout: %ds\n", c.stop_timeout_s);
    std::printf("  log: %s", c.log.driver.c_str());
    if (c.log.max_size_bytes > 0)
      std::printf(" max-size %lld max-file %d", static_cast<long long>(c.log.max_size_bytes), c.log.max_file);
    std::printf("\n");
  }
  // The warnings went to stderr as they were found; --format json lists them again.
  if (!plan.warnings.empty()) std::printf("%zu warning(s), see above\n", plan.warnings.size());
}

json::Json read_overrides(const std::string& value) {
  std::string text = value, source = "--overrides";
  if (value.rfind("file://", 0) == 0) source = value.substr(7);
  else if (value.rfind("@", 0) == 0) source = value.substr(1);
  if (source != "--overrides") text = fs::read_file(source);
  return json::parse(text, source);
}

int task_validate(const std::vector<std::string>& argv) {
  Args args(argv, {{{"overrides"}, true}, {{"env", "e"}, true}, {{"format"}, true}, {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kValidateUsage);
    return 0;
  }
  if (args.positional().size() != 1) throw Error("task validate: expected one TASKDEF.json (see --help)");
  std::string format = args.value_or("format", "text");
  if (format != "text" && format != "json") throw Error("--format: expected text or json, got \"" + format + "\"");
  ecs::PlanOptions opts;
  opts.agent = ecs::agent_config_from_environment();
  if (auto o = args.value("overrides")) opts.overrides = read_overrides(*o);
  for (const auto& kv : args.values("env")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--env " + kv + ": expected NAME=VALUE");
    ecs::env_set(opts.extra_env, kv.substr(0, eq), kv.substr(eq + 1));
  }
  ecs::TaskPlan plan = ecs::plan_task_file(args.positional()[0], opts);
  if (format == "json")
    std::printf("%s\n", plan.to_json().dump(2).c_str());
  else
    print_text(plan);
  return 0;
}

int task_main(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::printf("%s", kTaskUsage);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "validate") return task_validate(rest);
  throw Error("task: unknown command '" + args[0] + "' (see 'ecsa-run task --help')");
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("task", "task COMMAND [ARGS...]", "ECS tasks: validate a task definition (run comes later)",
             ecsa::cli::task_main);
