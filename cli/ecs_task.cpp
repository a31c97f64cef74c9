// `ecsa-run task ...`: ECS tasks. `validate` prints the resolved plan; `run` starts a task
// under its supervisor; `ls`, `describe`, `stop`, `logs`, `rm` work on recorded tasks.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "ecs/json_file_log.hpp"
#include "ecs/task_definition.hpp"
#include "ecs/task_runner.hpp"
#include "ecs/task_supervisor.hpp"
#include "oci/image_store.hpp"
#include "runtime/container.hpp"

namespace ecsa::cli {
namespace {

constexpr const char* kTaskUsage =
    "Usage: ecsa-run task COMMAND [ARGS...]\n\n"
    "Commands:\n"
    "  run        run a task definition: pull its images, start its containers under a\n"
    "             supervisor, print the task once its essential containers run\n"
    "  ls         list tasks\n"
    "  describe   a task and its containers as ECS DescribeTasks reports them\n"
    "  stop       stop a task (SIGTERM, SIGKILL after each container's stopTimeout)\n"
    "  logs       a task's container logs (Docker json-file format on disk)\n"
    "  rm         remove a stopped task's record and logs\n"
    "  validate   check a task definition and print the resolved plan\n\n"
    "Run 'ecsa-run task COMMAND --help' for a command's options.\n";

constexpr const char* kValidateUsage =
    "Usage: ecsa-run task validate TASKDEF.json [--overrides JSON] [--env K=V]... [--format "
    "json]\n\n"
    "Reads a task definition (RegisterTaskDefinition input, `aws ecs describe-task-definition`\n"
    "output, or an array of container definitions), applies RunTask-style overrides and\n"
    "prints what ecsa would run: cgroup limits, per-container settings, start order.\n"
    "Agent settings come from the environment (ECS_CGROUP_CPU_PERIOD,\n"
    "ECS_CONTAINER_STOP_TIMEOUT, ECS_IMAGE_PULL_BEHAVIOR, ...).\n\n"
    "Options:\n"
    "  --overrides JSON   RunTask overrides: JSON text, or file://PATH or @PATH\n"
    "                     "
    "({\"containerOverrides\":[{\"name\",\"command\",\"environment\",\"cpu\",\n"
    "                     \"memory\",\"memoryReservation\"}],\"cpu\",\"memory\"})\n"
    "  --env K=V          set an environment variable in every container (repeatable)\n"
    "  --format FORMAT    text (default) or json\n"
    "  -h, --help         show this help\n";

std::string mib(int64_t bytes) {
  return std::to_string(bytes / (1024 * 1024)) + " MiB";
}

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
    std::printf("  cpu: %lld units -> quota %lld us per %lld us\n",
                static_cast<long long>(*r.cpu_units), static_cast<long long>(*r.cpu_quota_us),
                static_cast<long long>(r.cpu_period_us));
  else if (r.cpu_shares)
    std::printf("  cpu: no task cpu -> shares %llu (sum of the containers')\n",
                static_cast<unsigned long long>(*r.cpu_shares));
  if (r.memory_limit_bytes)
    std::printf("  memory: limit %s\n", mib(*r.memory_limit_bytes).c_str());
  else
    std::printf("  memory: no task limit\n");
  if (!plan.pid_mode.empty()) std::printf("  pidMode: %s\n", plan.pid_mode.c_str());
  if (!plan.ipc_mode.empty()) std::printf("  ipcMode: %s\n", plan.ipc_mode.c_str());
  for (const auto& v : plan.volumes) {
    std::printf("  volume %s: %s", v.name.c_str(), ecs::to_string(v.kind));
    if (v.kind == ecs::Volume::Kind::host) std::printf(" %s", v.host_path.c_str());
    if (v.kind == ecs::Volume::Kind::docker)
      std::printf(" scope %s driver %s", v.scope.c_str(), v.driver.c_str());
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
    if (c.memory_reservation_bytes)
      std::printf("  memory reservation: %s\n", mib(*c.memory_reservation_bytes).c_str());
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
      std::printf("  mount %s -> %s%s\n", m.volume.c_str(), m.destination.c_str(),
                  m.read_only ? " (ro)" : "");
    if (c.health_check)
      std::printf("  health: %s every %ds, timeout %ds, retries %d, start period %ds\n",
                  join(c.health_check->test).c_str(), c.health_check->interval_s,
                  c.health_check->timeout_s, c.health_check->retries,
                  c.health_check->start_period_s);
    for (const auto& d : c.depends_on)
      std::printf("  depends on %s (%s)\n", d.container.c_str(), ecs::to_string(d.condition));
    std::printf("  stop timeout: %ds\n", c.stop_timeout_s);
    std::printf("  log: %s", c.log.driver.c_str());
    if (c.log.max_size_bytes > 0)
      std::printf(" max-size %lld max-file %d", static_cast<long long>(c.log.max_size_bytes),
                  c.log.max_file);
    std::printf("\n");
  }
  // The warnings went to stderr as they were found; --format json lists them again.
  if (!plan.warnings.empty()) std::printf("%zu warning(s), see above\n", plan.warnings.size());
}

json::Json read_overrides(const std::string& value) {
  std::string text = value, source = "--overrides";
  if (value.rfind("file://", 0) == 0)
    source = value.substr(7);
  else if (value.rfind("@", 0) == 0)
    source = value.substr(1);
  if (source != "--overrides") text = fs::read_file(source);
  return json::parse(text, source);
}

ecs::TaskInput read_input(const std::string& path, const Args& args) {
  ecs::TaskInput in;
  in.task_definition = json::parse(fs::read_file(path), path);
  if (auto o = args.value("overrides")) in.overrides = read_overrides(*o);
  for (const auto& kv : args.values("env")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--env " + kv + ": expected NAME=VALUE");
    ecs::env_set(in.extra_env, kv.substr(0, eq), kv.substr(eq + 1));
  }
  std::string dir = fs::dirname(path);
  char cwd[4096];
  if (dir.empty() || dir[0] != '/') {
    if (!::getcwd(cwd, sizeof cwd)) throw_errno("getcwd");
    dir = fs::join(cwd, dir.empty() ? "." : dir);
  }
  in.base_dir = dir;
  std::string base = fs::basename(path);
  if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0)
    base.resize(base.size() - 5);
  in.default_family = base;
  return in;
}

// The plan of the input; errors name the file.
ecs::TaskPlan plan_of(const std::string& path, const ecs::TaskInput& input) {
  try {
    return input.plan();
  } catch (const std::exception&) {
    rethrow_with_context(path);
  }
}

int task_validate(const std::vector<std::string>& argv) {
  Args args(
      argv,
      {{{"overrides"}, true}, {{"env", "e"}, true}, {{"format"}, true}, {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kValidateUsage);
    return 0;
  }
  if (args.positional().size() != 1)
    throw Error("task validate: expected one TASKDEF.json (see --help)");
  std::string format = args.value_or("format", "text");
  if (format != "text" && format != "json")
    throw Error("--format: expected text or json, got \"" + format + "\"");
  const std::string& path = args.positional()[0];
  ecs::TaskPlan plan = plan_of(path, read_input(path, args));
  if (format == "json")
    std::printf("%s\n", plan.to_json().dump(2).c_str());
  else
    print_text(plan);
  return 0;
}

constexpr const char* kRunUsage =
    "Usage: ecsa-run task run TASKDEF.json [OPTIONS]\n\n"
    "Runs an ECS task definition with the semantics it has on AWS (launch type EXTERNAL,\n"
    "bridge/host/none networking, dynamic host ports). Images are pulled as\n"
    "ECS_IMAGE_PULL_BEHAVIOR says; a small supervisor process then starts the containers in\n"
    "dependency order, watches them (exit codes, OOM kills, health checks, essential\n"
    "containers, restartPolicy) and writes their logs. Returns once every essential\n"
    "container is RUNNING (or the task stopped) and prints the task.\n\n"
    "Options:\n"
    "  --overrides JSON   RunTask overrides: JSON text, or file://PATH or @PATH\n"
    "  --env K=V          set an environment variable in every container (repeatable)\n"
    "  --wait             stay until the task stops; exit with the essential container's code\n"
    "  --format FORMAT    text (default) or json (the task as `task describe --format json`)\n"
    "  --progress MODE    image pull progress: auto, plain, json or none (on stderr)\n"
    "  --root DIR         OCI runtime state directory (default /run/ecsa)\n"
    "  -q, --quiet        print only the task id\n"
    "  -h, --help         show this help\n\n"
    "Exit status: 0 once the task ran; 1 when it stopped before running (the reason is\n"
    "printed); with --wait, the exit code of the essential container that stopped it.\n";

constexpr const char* kLsUsage =
    "Usage: ecsa-run task ls [--format table|json] [-q]\n\n"
    "Lists recorded tasks: running ones and stopped ones not removed yet.\n";
constexpr const char* kDescribeUsage =
    "Usage: ecsa-run task describe ID [--format text|json]\n\n"
    "A task (id or unique id prefix) with lastStatus, desiredStatus, stoppedReason and its\n"
    "containers (lastStatus, exitCode, reason, networkBindings, healthStatus).\n";
constexpr const char* kStopUsage =
    "Usage: ecsa-run task stop ID [--timeout SECONDS] [--reason TEXT] [--format text|json]\n\n"
    "Stops the task's containers in reverse dependency order: SIGTERM, then SIGKILL after\n"
    "the timeout (default: each container's stopTimeout, ECS_CONTAINER_STOP_TIMEOUT).\n";
constexpr const char* kLogsUsage =
    "Usage: ecsa-run task logs ID [CONTAINER] [-f] [--tail N] [--format text|json]\n\n"
    "Prints the containers' output (stdout to stdout, stderr to stderr). Without CONTAINER,\n"
    "every container's, each line prefixed with its name. -f follows until the task stops.\n"
    "The files are in Docker's json-file format: <state>/tasks/<id>/logs/<name>-json.log.\n";
constexpr const char* kRmUsage =
    "Usage: ecsa-run task rm ID... [-f]\n\n"
    "Removes stopped tasks (record, logs). -f stops a running task first (no stop timeout).\n";

std::string store_root() {
  return oci::ImageStore::open()->root();
}

std::string check_format(const Args& a, const char* def,
                         std::initializer_list<const char*> allowed) {
  std::string f = a.value_or("format", def);
  for (const char* x : allowed)
    if (f == x) return f;
  throw Error("--format: unsupported format \"" + f + "\"");
}

std::string bindings_text(const json::Json& b) {
  std::string out;
  for (const auto& nb : b) {
    std::string host = nb.value("bindIP", "0.0.0.0") + ":";
    std::string cport;
    if (nb.contains("hostPortRange")) {
      host += nb["hostPortRange"].get<std::string>();
      cport = nb.value("containerPortRange", "");
    } else {
      host += std::to_string(nb.value("hostPort", 0));
      cport = std::to_string(nb.value("containerPort", 0));
    }
    out += (out.empty() ? "" : ", ") + host + "->" + cport + "/" + nb.value("protocol", "tcp");
  }
  return out;
}

void print_task_text(const ecs::TaskRecord& r) {
  std::string fam = r.family + (r.revision ? ":" + std::to_string(*r.revision) : "");
  std::printf("task %s %s\n", r.id.c_str(), fam.c_str());
  std::printf("  status: %s (desired %s)\n", r.last_status.c_str(), r.desired_status.c_str());
  if (!r.stopped_reason.empty()) std::printf("  stoppedReason: %s\n", r.stopped_reason.c_str());
  for (const auto& c : r.containers) {
    std::printf("  container %s: %s", c.name.c_str(), c.last_status.c_str());
    if (c.exit_code) std::printf(" exitCode %d", *c.exit_code);
    if (!c.health_status.empty()) std::printf(" health %s", c.health_status.c_str());
    std::string ports = bindings_text(c.network_bindings);
    if (!ports.empty()) std::printf(" ports %s", ports.c_str());
    if (c.restart_count) std::printf(" restarts %d", c.restart_count);
    std::printf("\n");
    if (!c.reason.empty()) std::printf("    reason: %s\n", c.reason.c_str());
  }
  if (r.last_status != "STOPPED" && !r.supervisor_alive())
    std::printf(
        "  warning: the task's supervisor is not running; 'ecsa-run gc' stops its containers\n");
}

void print_task(const ecs::TaskRecord& r, const std::string& format) {
  if (format == "json")
    std::printf("%s\n", r.to_json().dump(2).c_str());
  else
    print_task_text(r);
}

int task_run(const std::vector<std::string>& argv) {
  Args args(argv, {{{"overrides"}, true},
                   {{"env", "e"}, true},
                   {{"wait"}, false},
                   {{"format"}, true},
                   {{"progress"}, true},
                   {{"root"}, true},
                   {{"quiet", "q"}, false},
                   {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kRunUsage);
    return 0;
  }
  if (args.positional().size() != 1)
    throw Error("task run: expected one TASKDEF.json (see --help)");
  std::string format = check_format(args, "text", {"text", "json"});
  const std::string& path = args.positional()[0];
  ecs::TaskInput input = read_input(path, args);
  ecs::TaskPlan plan = plan_of(path, input);
  // A secret the task would run without is worse than no task: refuse before anything runs.
  for (const auto& c : plan.containers)
    if (!c.secrets.empty())
      throw Error(path + ": container " + c.name + ": secrets (" + c.secrets[0].value_from +
                  "): fetching from SSM Parameter Store or Secrets Manager is not supported yet; "
                  "pass the values with --env NAME=VALUE and drop `secrets`");
  auto progress =
      oci::Progress::create(oci::parse_progress_mode(args.value_or("progress", "auto")), stderr);
  ecs::RunTaskOptions o;
  o.runtime_root = args.value_or("root", runtime::kDefaultRoot);
  o.progress = progress.get();
  o.wait = args.has("wait");
  ecs::TaskRecord r = ecs::run_task(input, plan, o);
  std::fflush(stderr);
  if (args.has("quiet"))
    std::printf("%s\n", r.id.c_str());
  else
    print_task(r, format);
  std::fflush(stdout);
  bool ran = false;
  for (const auto& c : r.containers) ran |= c.started;
  if (o.wait) return ecs::task_exit_code(r);
  if (!ran && r.last_status == "STOPPED")
    throw Error("task " + r.id + ": " +
                (r.stopped_reason.empty() ? "stopped before it ran" : r.stopped_reason));
  return 0;
}

int task_supervise(const std::vector<std::string>& argv) {
  Args args(argv, {{{"root"}, true}, {{"store"}, true}, {{"notify-fd"}, true}});
  if (args.positional().size() != 1)
    throw Error("task supervise: expected a task id (internal command)");
  ecs::SupervisorOptions o;
  o.runtime_root = args.value_or("root", runtime::kDefaultRoot);
  o.store_root = args.value_or("store", "");
  o.task_id = args.positional()[0];
  o.notify_fd = std::stoi(args.value_or("notify-fd", "-1"));
  return ecs::supervise_task(o);
}

int task_ls(const std::vector<std::string>& argv) {
  Args args(argv, {{{"format"}, true}, {{"quiet", "q"}, false}, {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kLsUsage);
    return 0;
  }
  std::string format = check_format(args, "table", {"table", "json"});
  std::string root = store_root();
  json::Json all = json::Json::array();
  if (format == "table" && !args.has("quiet"))
    std::printf("%-14s %-32s %-9s %-9s %-10s %s\n", "TASK ID", "FAMILY", "STATUS", "DESIRED",
                "CONTAINERS", "CREATED");
  for (const auto& id : ecs::TaskDir::list_ids(root)) {
    ecs::TaskRecord r;
    try {
      r = ecs::TaskDir(root, id).load();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ecsa-run: %s\n", e.what());
      continue;
    }
    if (format == "json") {
      all.push_back(r.to_json());
      continue;
    }
    if (args.has("quiet")) {
      std::printf("%s\n", r.id.c_str());
      continue;
    }
    int running = 0;
    for (const auto& c : r.containers) running += c.last_status == "RUNNING";
    std::string fam = r.family + (r.revision ? ":" + std::to_string(*r.revision) : "");
    std::string status = r.last_status;
    if (status != "STOPPED" && !r.supervisor_alive() && r.supervisor_pid) status += "?";
    std::printf("%-14s %-32s %-9s %-9s %-10s %s\n", r.id.substr(0, 12).c_str(), fam.c_str(),
                status.c_str(), r.desired_status.c_str(),
                (std::to_string(running) + "/" + std::to_string(r.containers.size())).c_str(),
                r.created_at.c_str());
  }
  if (format == "json") std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

int task_describe(const std::vector<std::string>& argv) {
  Args args(argv, {{{"format"}, true}, {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kDescribeUsage);
    return 0;
  }
  if (args.positional().empty()) throw Error("task describe: a task id is required");
  std::string format = check_format(args, "text", {"text", "json"});
  std::string root = store_root();
  for (const auto& id : args.positional()) print_task(ecs::TaskDir::find(root, id).load(), format);
  return 0;
}

int task_stop(const std::vector<std::string>& argv) {
  Args args(argv, {{{"timeout", "t", "time"}, true},
                   {{"reason"}, true},
                   {{"root"}, true},
                   {{"format"}, true},
                   {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kStopUsage);
    return 0;
  }
  if (args.positional().empty()) throw Error("task stop: a task id is required");
  std::string format = check_format(args, "text", {"text", "json"});
  int timeout = -1;
  if (auto t = args.value("timeout")) {
    try {
      timeout = std::stoi(*t);
    } catch (const std::exception&) {
      throw Error("--timeout: expected seconds, got \"" + *t + "\"");
    }
    if (timeout < 0) throw Error("--timeout: must not be negative");
  }
  for (const auto& id : args.positional()) {
    auto r = ecs::stop_task("", args.value_or("root", runtime::kDefaultRoot), id, timeout,
                            args.value_or("reason", "Task stopped by user"));
    print_task(r, format);
  }
  return 0;
}

// Prints new entries of a json-file log from `offset` on; returns the new offset.
size_t print_log_from(const std::string& path, size_t offset, const std::string& prefix,
                      bool json_out) {
  auto text = fs::read_file_if_exists(path);
  if (!text) return 0;
  if (text->size() < offset) offset = 0;  // rotated
  size_t pos = offset;
  for (;;) {
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) break;
    std::string line = text->substr(pos, nl - pos);
    pos = nl + 1;
    if (json_out) {
      std::printf("%s\n", line.c_str());
      continue;
    }
    try {
      auto j = json::Json::parse(line);
      std::string log = j.value("log", "");
      FILE* out = j.value("stream", "stdout") == "stderr" ? stderr : stdout;
      std::fprintf(out, "%s%s", prefix.c_str(), log.c_str());
    } catch (const std::exception&) {
    }
  }
  std::fflush(stdout);
  std::fflush(stderr);
  return pos;
}

int task_logs(const std::vector<std::string>& argv) {
  Args args(
      argv,
      {{{"follow", "f"}, false}, {{"tail"}, true}, {{"format"}, true}, {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kLogsUsage);
    return 0;
  }
  if (args.positional().empty() || args.positional().size() > 2)
    throw Error("task logs: expected ID [CONTAINER] (see --help)");
  bool json_out = check_format(args, "text", {"text", "json"}) == "json";
  std::string root = store_root();
  ecs::TaskDir dir = ecs::TaskDir::find(root, args.positional()[0]);
  ecs::TaskRecord r = dir.load();
  std::vector<std::string> names;
  if (args.positional().size() == 2) {
    if (!r.find(args.positional()[1]))
      throw Error("task logs: task " + dir.id() + " has no container \"" + args.positional()[1] +
                  "\"");
    names.push_back(args.positional()[1]);
  } else {
    for (const auto& c : r.containers) names.push_back(c.name);
  }
  bool prefix = names.size() > 1;
  size_t tail = 0;
  if (auto t = args.value("tail")) tail = static_cast<size_t>(std::stoul(*t));
  std::vector<size_t> offsets(names.size(), 0);
  for (size_t i = 0; i < names.size(); ++i) {
    std::string path = dir.log_path(names[i]);
    std::string pre = prefix ? names[i] + " | " : "";
    // Rotated files first, as the reader orders them.
    for (const auto& e : ecs::read_json_file_log(path, 1000, tail)) {
      if (json_out) {
        std::printf(
            "%s\n",
            json::Json{{"log", e.log}, {"stream", e.stream}, {"time", e.time}}.dump().c_str());
        continue;
      }
      std::fprintf(e.stream == "stderr" ? stderr : stdout, "%s%s", pre.c_str(), e.log.c_str());
    }
    struct stat st {};
    offsets[i] = ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  if (!args.has("follow")) return 0;
  for (;;) {
    bool stopped = false;
    try {
      stopped = dir.load().last_status == "STOPPED";
    } catch (const std::exception&) {
      stopped = true;
    }
    for (size_t i = 0; i < names.size(); ++i)
      offsets[i] = print_log_from(dir.log_path(names[i]), offsets[i],
                                  prefix ? names[i] + " | " : "", json_out);
    if (stopped) return 0;
    usleep(200000);
  }
}

int task_rm(const std::vector<std::string>& argv) {
  Args args(argv, {{{"force", "f"}, false}, {{"root"}, true}, {{"help", "h"}, false}});
  if (args.has("help")) {
    std::printf("%s", kRmUsage);
    return 0;
  }
  if (args.positional().empty()) throw Error("task rm: a task id is required");
  for (const auto& id : args.positional()) {
    ecs::remove_task("", args.value_or("root", runtime::kDefaultRoot), id, args.has("force"));
    std::printf("%s\n", id.c_str());
  }
  return 0;
}

int task_main(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::printf("%s", kTaskUsage);
    return args.empty() ? 2 : 0;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "validate") return task_validate(rest);
  if (args[0] == "run") return task_run(rest);
  if (args[0] == "ls" || args[0] == "list") return task_ls(rest);
  if (args[0] == "describe" || args[0] == "inspect") return task_describe(rest);
  if (args[0] == "stop") return task_stop(rest);
  if (args[0] == "logs") return task_logs(rest);
  if (args[0] == "rm") return task_rm(rest);
  if (args[0] == "supervise") return task_supervise(rest);
  throw Error("task: unknown command '" + args[0] + "' (see 'ecsa-run task --help')");
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("task", "task COMMAND [ARGS...]",
             "ECS tasks: run, ls, describe, stop, logs, rm, validate", ecsa::cli::task_main);
