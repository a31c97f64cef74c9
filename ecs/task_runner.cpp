#include "ecs/task_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "cgroups/cgroups.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "ecs/container_launch.hpp"
#include "ecs/task_supervisor.hpp"
#include "ecs/task_volumes.hpp"
#include "oci/image_store.hpp"
#include "runtime/container.hpp"
#include "runtime/state.hpp"

namespace ecsa::ecs {

namespace {

TaskRecord initial_record(const std::string& id, const TaskInput& input, const TaskPlan& plan) {
  TaskRecord r;
  r.id = id;
  r.family = plan.family;
  r.revision = plan.revision;
  r.task_definition_arn = plan.arn;
  r.created_at = now_rfc3339();
  const json::Json& d = input.task_definition.contains("taskDefinition")
                            ? input.task_definition["taskDefinition"]
                            : input.task_definition;
  auto scalar = [&](const char* key) -> std::string {
    if (!d.is_object() || !d.contains(key) || d[key].is_null()) return "";
    return d[key].is_string() ? d[key].get<std::string>() : d[key].dump();
  };
  r.cpu = scalar("cpu");
  r.memory = scalar("memory");
  for (size_t i : plan.start_order) {
    const ContainerPlan& c = plan.containers[i];
    ContainerRecord cr;
    cr.name = c.name;
    cr.runtime_id = task_container_id(id, c.name);
    cr.image = c.image;
    cr.essential = c.essential;
    if (c.health_check) cr.health_status = "UNKNOWN";
    r.containers.push_back(cr);
  }
  return r;
}

// Double fork: the supervisor is nobody's child but init's (or a subreaper's), in its own
// session, so the terminal of `task run` going away does not touch it.
void spawn_supervisor(const TaskDir& dir, const RunTaskOptions& opts, int notify_w) {
  // The real path, not /proc/self/exe: ps and pgrep show the supervisor as ecsa-run.
  std::string exe = opts.self_exe;
  if (exe.empty()) {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    exe = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "/proc/self/exe";
  }
  std::string log_path = dir.dir() + "/supervisor.log";
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    ::setsid();
    pid_t again = ::fork();
    if (again != 0) ::_exit(again < 0 ? 1 : 0);
    // Nothing of the caller's working directory is held (it may be unmounted later).
    if (::chdir("/") != 0) ::_exit(1);
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (null_fd < 0 || log_fd < 0) ::_exit(1);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::dup2(notify_w, 3);  // without close-on-exec
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::string store = opts.store_root;
    std::vector<std::string> args = {"ecsa-run",        "task",        "supervise", "--root",
                                     opts.runtime_root, "--notify-fd", "3"};
    if (!store.empty()) {
      args.push_back("--store");
      args.push_back(store);
    }
    args.push_back(dir.id());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("start task supervisor: fork failed");
}

// Reads notify lines until `until` ("ready" or "stopped") or EOF.
void wait_for(int fd, const std::string& until) {
  std::string buf;
  char c[64];
  for (;;) {
    ssize_t n = ::read(fd, c, sizeof c);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buf.append(c, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      if (line == until || line == "stopped") return;
    }
  }
}

std::string store_root_of(const std::string& store_root) {
  if (!store_root.empty()) return store_root;
  return oci::ImageStore::open()->root();
}

}  // namespace

TaskRecord run_task(const TaskInput& input, const TaskPlan& plan, const RunTaskOptions& opts) {
  auto store = oci::ImageStore::open(opts.store_root);
  std::string id = TaskDir::new_id();
  TaskDir dir(store->root(), id);
  fs::mkdir_p(dir.dir(), 0700);
  fs::write_file_atomic(dir.input_path(), input.to_json().dump(2) + "\n", 0600);
  TaskRecord rec = initial_record(id, input, plan);
  // Until the supervisor takes over, this process answers for the task: if it dies while
  // pulling, `gc` finds the task orphaned and cleans it up.
  rec.supervisor_pid = ::getpid();
  rec.supervisor_start_time = runtime::process_start_time(::getpid());
  dir.save(rec);

  // Images first, with progress on the terminal of `task run`: the supervisor never pulls.
  std::set<std::string> done;
  for (const auto& cr : rec.containers) {
    if (done.count(cr.image)) continue;
    done.insert(cr.image);
    try {
      ensure_image(*store, cr.image, plan.pull_behavior, opts.progress);
    } catch (const std::exception& e) {
      std::string reason = e.what();
      if (reason.rfind("CannotPullContainerError", 0) != 0)
        reason = "CannotPullContainerError: " + reason;
      bool essential_failed = false;
      for (auto& c : rec.containers)
        if (c.image == cr.image) {
          c.last_status = "STOPPED";
          c.reason = reason;
          c.stopped_at = now_rfc3339();
          essential_failed |= c.essential;
        }
      if (essential_failed) {
        rec.last_status = rec.desired_status = "STOPPED";
        rec.stopped_reason = reason;
        rec.stop_code = "TaskFailedToStart";
        rec.stopped_at = now_rfc3339();
        for (auto& c : rec.containers) c.last_status = "STOPPED";
        dir.save(rec);
        return rec;
      }
      dir.save(rec);
    }
  }
  std::string store_root = store->root();
  store.reset();

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
  UniqueFd notify_r(p[0]), notify_w(p[1]);
  RunTaskOptions o = opts;
  o.store_root = store_root;
  spawn_supervisor(dir, o, notify_w.get());
  notify_w.reset();
  wait_for(notify_r.get(), opts.wait ? "stopped" : "ready");
  return dir.load();
}

int task_exit_code(const TaskRecord& r) {
  for (const auto& c : r.containers)
    if (c.essential && c.last_status == "STOPPED" && c.exit_code) return *c.exit_code;
  return 1;
}

TaskRecord stop_task(const std::string& store_root_in, const std::string& runtime_root,
                     const std::string& id, int timeout_s, const std::string& reason) {
  std::string store_root = store_root_of(store_root_in);
  TaskDir dir = TaskDir::find(store_root, id);
  TaskRecord r = dir.load();
  if (r.last_status == "STOPPED") return r;
  if (request_task_stop(store_root, dir.id(), reason, timeout_s)) {
    // The supervisor stops the containers (each within its stop timeout) and records it.
    for (;;) {
      usleep(20000);
      r = dir.load();
      if (r.last_status == "STOPPED") return r;
      if (!r.supervisor_alive()) break;
    }
  }
  gc_tasks(store_root, runtime_root);
  return dir.load();
}

void remove_task(const std::string& store_root_in, const std::string& runtime_root,
                 const std::string& id, bool force) {
  std::string store_root = store_root_of(store_root_in);
  TaskDir dir = TaskDir::find(store_root, id);
  TaskRecord r = dir.load();
  if (r.last_status != "STOPPED") {
    if (!force)
      throw Error("task rm " + dir.id() + ": the task is " + r.last_status +
                  "; stop it first or use --force");
    r = stop_task(store_root, runtime_root, dir.id(), 0, "Task removed by user");
  }
  // Anything of a container left by a crash in the middle of its cleanup.
  auto store = oci::ImageStore::open(store_root);
  for (const auto& c : r.containers) {
    if (!fs::exists(container_files_dir(*store, c.runtime_id)) &&
        !runtime::StateDir(runtime_root, c.runtime_id).exists())
      continue;
    remove_launched(*store, runtime_root, c.runtime_id);
  }
  fs::remove_all(dir.dir());
}

std::vector<std::string> gc_tasks(const std::string& store_root_in,
                                  const std::string& runtime_root) {
  std::string store_root = store_root_of(store_root_in);
  std::vector<std::string> handled;
  for (const auto& id : TaskDir::list_ids(store_root)) {
    TaskDir dir(store_root, id);
    TaskRecord r;
    try {
      r = dir.load();
    } catch (const std::exception& e) {
      log::warn(e.what());
      continue;
    }
    if (r.last_status == "STOPPED" || r.supervisor_alive()) continue;
    auto store = oci::ImageStore::open(store_root);
    for (auto& c : r.containers) {
      if (c.last_status == "STOPPED") continue;
      try {
        if (runtime::StateDir(runtime_root, c.runtime_id).exists())
          runtime::kill_container(runtime_root, c.runtime_id, SIGKILL, true);
      } catch (const std::exception& e) {
        log::debug(e.what());
      }
      try {
        remove_launched(*store, runtime_root, c.runtime_id);
      } catch (const std::exception& e) {
        log::warn(e.what());
      }
      c.last_status = "STOPPED";
      c.pid = 0;
      c.network_bindings = json::Json::array();
      if (c.reason.empty()) c.reason = "Stopped by ecsa gc: the task's supervisor had exited";
      c.stopped_at = now_rfc3339();
    }
    try {
      TaskInput in = TaskInput::from_json(
          json::parse(fs::read_file(dir.input_path()), dir.input_path()), dir.input_path());
      remove_task_volumes(in.plan(), fs::join(dir.dir(), "volumes"));
    } catch (const std::exception& e) {
      log::warn(e.what());
    }
    try {
      cgroups::Cgroup(cgroups::Layout::host(), task_cgroup_path(id)).destroy();
    } catch (const std::exception& e) {
      log::warn(e.what());
    }
    r.last_status = r.desired_status = "STOPPED";
    if (r.stopped_reason.empty())
      r.stopped_reason = "Task supervisor exited unexpectedly; containers stopped by gc";
    r.stopped_at = now_rfc3339();
    dir.save(r);
    handled.push_back(id);
  }
  return handled;
}

std::vector<std::string> task_runtime_ids(const std::string& store_root_in) {
  std::string store_root = store_root_of(store_root_in);
  std::vector<std::string> ids;
  for (const auto& id : TaskDir::list_ids(store_root)) {
    try {
      auto r = TaskDir(store_root, id).load();
      if (r.last_status == "STOPPED") continue;
      for (const auto& c : r.containers) ids.push_back(c.runtime_id);
    } catch (const std::exception& e) {
      log::warn(e.what());
    }
  }
  return ids;
}

}  // namespace ecsa::ecs
