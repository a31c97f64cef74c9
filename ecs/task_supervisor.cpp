#include "ecs/task_supervisor.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "cgroups/cgroups.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "ecs/container_launch.hpp"
#include "ecs/json_file_log.hpp"
#include "ecs/oom_watch.hpp"
#include "ecs/task_input.hpp"
#include "ecs/task_record.hpp"
#include "ecs/task_rules.hpp"
#include "ecs/task_volumes.hpp"
#include "net/network.hpp"
#include "oci/image_store.hpp"
#include "runtime/container_init.hpp"
#include "runtime/exec.hpp"
#include "runtime/state.hpp"

namespace ecsa::ecs {

namespace {

constexpr const char* kOomReason = "OutOfMemoryError: Container killed due to memory usage";
constexpr const char* kEssentialExited = "Essential container in task exited";

double now_s() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void pipe_or_throw(UniqueFd& r, UniqueFd& w, int flags) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | flags) != 0) throw_errno("pipe");
  r = UniqueFd(p[0]);
  w = UniqueFd(p[1]);
}

// A forked worker starts with default signal handling and nothing blocked.
void reset_signals_in_child() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE}) signal(s, SIG_DFL);
}

// Runs `work` in a forked child and waits for it; returns the error text it reported, or ""
// on success. Heavy libraries (image store, netlink, nftables) only ever load in the child,
// which keeps the supervisor's own memory small.
template <class F>
std::string run_in_worker(F&& work) {
  UniqueFd r, w;
  pipe_or_throw(r, w, 0);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    r.reset();
    reset_signals_in_child();
    try {
      work();
      ::_exit(0);
    } catch (const std::exception& e) {
      write_all(w.get(), e.what());
    }
    ::_exit(1);
  }
  w.reset();
  std::string msg = read_all(r.get());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (msg.empty())
    msg = "worker process failed (status " + std::to_string(runtime::exit_code_of(status)) + ")";
  return msg;
}

// The supervisor lives as long as the task but its loop runs a few pages of code: now and
// then it drops the file pages that start-up, the fork of workers and bookkeeping faulted in,
// so its resident memory is what the loop uses. Only file mappings that are still exact
// copies of the file (read-only, no private anonymous page, i.e. not relocated RELRO) are
// dropped: they come back from the page cache when touched.
class TextShedder {
 public:
  void shed() {
    if (!scanned_) scan();
    for (const auto& [lo, len] : ranges_)
      ::madvise(reinterpret_cast<void*>(lo), len, MADV_DONTNEED);
  }

 private:
  void scan() {
    scanned_ = true;
    auto smaps = fs::read_file_if_exists("/proc/self/smaps");
    if (!smaps) return;
    unsigned long lo = 0, hi = 0;
    bool candidate = false;
    size_t pos = 0;
    while (pos < smaps->size()) {
      size_t nl = smaps->find('\n', pos);
      std::string line = smaps->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? smaps->size() : nl + 1;
      unsigned long a = 0, b = 0;
      char perms[5] = {};
      int path_at = 0;
      if (std::sscanf(line.c_str(), "%lx-%lx %4s %*s %*s %*s %n", &a, &b, perms, &path_at) >= 3 &&
          path_at > 0) {
        lo = a;
        hi = b;
        std::string p(perms);
        candidate = (p == "r-xp" || p == "r--p") && line.c_str()[path_at] == '/';
        continue;
      }
      unsigned long kb = 0;
      if (candidate && std::sscanf(line.c_str(), "Anonymous: %lu kB", &kb) == 1) {
        if (kb == 0) ranges_.emplace_back(lo, hi - lo);
        candidate = false;
      }
    }
  }
  bool scanned_ = false;
  std::vector<std::pair<unsigned long, unsigned long>> ranges_;
};

struct Box {
  const ContainerPlan* plan = nullptr;
  std::string id;  // runtime id
  enum class Phase { pending, running, stopped } phase = Phase::pending;
  pid_t pid = 0;
  double started_s = 0;
  bool stop_sent = false;
  double kill_at = 0;  // SIGKILL when the stop timeout runs out
  bool oom_event = false;
  UniqueFd out, err;
  std::unique_ptr<JsonFileLogWriter> log;
  std::unique_ptr<OomWatch> oom;
  std::optional<HealthTracker> health;
  pid_t probe_pid = 0;
  double probe_kill_at = 0;
  std::string kept_rootfs;    // set between an exit and its restart
  int stop_signal = SIGTERM;  // the image's StopSignal
};

class Supervisor {
 public:
  explicit Supervisor(const SupervisorOptions& o) : opts_(o) {}
  int run();

 private:
  void setup();
  void loop();
  void schedule();
  void launch(Box& b);
  void on_exit(Box& b, int status);
  void finish_box(Box& b, const std::string& reason, bool keep_rootfs = false);
  void remove_kept(Box& b);
  void remove_container(const std::string& id, bool keep_rootfs);
  void start_probe(Box& b);
  void on_probe_done(Box& b, int status);
  void begin_stop(const std::string& reason, const std::string& code, int timeout_s = -1);
  void advance_stop();
  void reap();
  void drain(Box& b, bool until_eof);
  void read_stream(Box& b, UniqueFd& fd, LogStream s);
  void save() { dir_->save(rec_); }
  ContainerRecord& rec(const Box& b) { return *rec_.find(b.plan->name); }
  bool all_stopped() const;
  void maybe_ready();
  std::string join_ns(const std::string& mode, const char* type) const;
  void teardown_task();

  SupervisorOptions opts_;
  std::unique_ptr<TaskDir> dir_;
  TaskRecord rec_;
  TaskPlan plan_;
  std::vector<Box> boxes_;
  std::map<std::string, std::string> volumes_;
  std::unique_ptr<cgroups::Cgroup> task_cgroup_;
  UniqueFd sigfd_;
  bool stopping_ = false;
  int stop_timeout_override_ = -1;
  bool ready_sent_ = false;
  double t0_ = 0;
  double last_shed_ = 0;
  TextShedder text_;
  std::string store_root_;
};

int Supervisor::run() {
  t0_ = now_s();
  auto store = oci::ImageStore::open(opts_.store_root);
  store_root_ = store->root();
  store.reset();
  dir_ = std::make_unique<TaskDir>(store_root_, opts_.task_id);
  rec_ = dir_->load();
  rec_.supervisor_pid = ::getpid();
  rec_.supervisor_start_time = runtime::process_start_time(::getpid());
  save();
  try {
    setup();
  } catch (const std::exception& e) {
    // Nothing ran: the task failed to start.
    rec_.desired_status = "STOPPED";
    rec_.stopped_reason = std::string("CannotStartTaskError: ") + e.what();
    rec_.stop_code = "TaskFailedToStart";
    for (auto& c : rec_.containers)
      if (c.last_status != "STOPPED") c.last_status = "STOPPED";
    teardown_task();
    return 1;
  }
  try {
    loop();
  } catch (const std::exception& e) {
    // Something the supervisor cannot go on without (a full disk for the task record, ...):
    // no container is left without a supervisor.
    log::error(std::string("supervisor: ") + e.what());
    if (!stopping_) {
      rec_.desired_status = "STOPPED";
      rec_.stopped_reason = std::string("ecsa supervisor error: ") + e.what();
      stopping_ = true;
    }
    for (auto& b : boxes_) {
      if (b.phase != Box::Phase::running) continue;
      ::kill(b.pid, SIGKILL);
      int status = 0;
      while (::waitpid(b.pid, &status, 0) < 0 && errno == EINTR) {
      }
      rec(b).exit_code = runtime::exit_code_of(status);
      try {
        finish_box(b, "");
      } catch (const std::exception& e2) {
        log::error(std::string("supervisor: ") + e2.what());
      }
    }
  }
  teardown_task();
  return 0;
}

void Supervisor::setup() {
  // Orphans of our workers (the containers' inits) become our children.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) throw_errno("prctl PR_SET_CHILD_SUBREAPER");
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) throw_errno("sigprocmask");
  sigfd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd_) throw_errno("signalfd");
  signal(SIGPIPE, SIG_IGN);

  {
    std::string input_path = dir_->input_path();
    TaskInput in =
        TaskInput::from_json(json::parse(fs::read_file(input_path), input_path), input_path);
    plan_ = in.plan();
  }
  fs::mkdir_p(dir_->dir() + "/logs", 0755);

  // The task cgroup: task cpu/memory limits over all its containers (the agent's /ecs/<task>).
  const auto& layout = cgroups::Layout::host();
  cgroups::Resources r;
  const auto& tr = plan_.resources;
  if (tr.cpu_quota_us) {
    r.cpu.quota = *tr.cpu_quota_us;
    r.cpu.period = static_cast<uint64_t>(tr.cpu_period_us);
  } else if (tr.cpu_shares) {
    r.cpu.shares = *tr.cpu_shares;
  }
  if (tr.memory_limit_bytes) r.memory.limit = *tr.memory_limit_bytes;
  if (!layout.v1_mount("memory").empty()) r.memory.use_hierarchy = true;
  if (tr.pids_limit) r.pids.limit = *tr.pids_limit;
  task_cgroup_ = std::make_unique<cgroups::Cgroup>(layout, task_cgroup_path(rec_.id));
  task_cgroup_->create();
  task_cgroup_->apply(r);

  volumes_ = prepare_task_volumes(plan_, fs::join(dir_->dir(), "volumes"), store_root_);

  for (size_t i : plan_.start_order) {
    Box b;
    b.plan = &plan_.containers[i];
    b.id = task_container_id(rec_.id, b.plan->name);
    // `task run` marks containers whose image could not be pulled as stopped already.
    const ContainerRecord* cr = rec_.find(b.plan->name);
    if (!cr) throw Error("task record has no container " + b.plan->name);
    if (cr->last_status == "STOPPED") b.phase = Box::Phase::stopped;
    boxes_.push_back(std::move(b));
  }
  // The plan's parsing is done: give its memory back.
  ::malloc_trim(0);
  text_.shed();
}

std::string Supervisor::join_ns(const std::string& mode, const char* type) const {
  if (mode == "host") return "host";
  if (mode != "task") return "";
  // The first running container of the task holds the shared namespace.
  for (const auto& b : boxes_)
    if (b.phase == Box::Phase::running && b.pid > 0)
      return "/proc/" + std::to_string(b.pid) + "/ns/" + type;
  return "";
}

void Supervisor::launch(Box& b) {
  ContainerRecord& cr = rec(b);
  const ContainerPlan& p = *b.plan;
  UniqueFd out_w, err_w;
  bool logging = p.log.driver != "none";
  if (logging) {
    pipe_or_throw(b.out, out_w, O_NONBLOCK);
    pipe_or_throw(b.err, err_w, O_NONBLOCK);
    // The writer's ends block: a container writing faster than the log is stored waits.
    ::fcntl(out_w.get(), F_SETFL, 0);
    ::fcntl(err_w.get(), F_SETFL, 0);
    if (!b.log) {
      JsonFileLogOptions lo;
      lo.max_size_bytes = p.log.max_size_bytes;
      lo.max_file = p.log.max_file;
      b.log = std::make_unique<JsonFileLogWriter>(dir_->log_path(p.name), lo);
    }
  }
  std::vector<std::string> link_hosts;
  for (const auto& l : p.links) {
    auto st = runtime::StateDir(opts_.runtime_root, task_container_id(rec_.id, l.container));
    if (!st.exists()) continue;
    auto s = st.load();
    if (!s.extra.contains("ipAddress")) continue;
    std::string ip = s.extra["ipAddress"].get<std::string>();
    link_hosts.push_back(l.alias + ":" + ip);
    if (l.alias != l.container) link_hosts.push_back(l.container + ":" + ip);
  }
  LaunchOptions lo;
  lo.id = b.id;
  lo.runtime_root = opts_.runtime_root;
  lo.cgroup_path = task_container_cgroup_path(rec_.id, p.name);
  lo.network_mode = plan_.network_mode;
  lo.volume_sources = volumes_;
  lo.link_hosts = link_hosts;
  lo.task_id = rec_.id;
  lo.pid_ns = join_ns(plan_.pid_mode, "pid");
  lo.ipc_ns = join_ns(plan_.ipc_mode, "ipc");
  lo.existing_rootfs = b.kept_rootfs;
  b.kept_rootfs.clear();  // create_from_plan owns it now (and releases it if it fails)
  int out_fd = out_w.get(), err_fd = err_w.get();
  std::string store_root = store_root_;
  std::string error = run_in_worker([&] {
    UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null_fd) throw_errno("open /dev/null");
    lo.stdio[0] = null_fd.get();
    lo.stdio[1] = logging ? out_fd : null_fd.get();
    lo.stdio[2] = logging ? err_fd : null_fd.get();
    auto store = oci::ImageStore::open(store_root);
    auto image = store->find_image(p.image);
    if (!image) throw Error("CannotPullContainerError: " + p.image + ": not in the image store");
    try {
      create_from_plan(*store, *image, p, lo);
    } catch (const std::exception& e) {
      throw Error(std::string("CannotCreateContainerError: ") + e.what());
    }
    try {
      runtime::start_container(lo.runtime_root, lo.id);
    } catch (const std::exception& e) {
      std::string msg = std::string("CannotStartContainerError: ") + e.what();
      try {
        remove_launched(*store, lo.runtime_root, lo.id);
      } catch (const std::exception& e2) {
        log::warn(std::string("cleanup: ") + e2.what());
      }
      throw Error(msg);
    }
  });
  out_w.reset();
  err_w.reset();
  if (!error.empty()) {
    drain(b, true);
    cr.reason = error;
    b.phase = Box::Phase::stopped;
    cr.last_status = "STOPPED";
    cr.stopped_at = now_rfc3339();
    save();
    if (p.essential && !stopping_) begin_stop(error, "TaskFailedToStart");
    return;
  }
  runtime::ContainerState st = runtime::StateDir(opts_.runtime_root, b.id).load();
  b.pid = st.pid;
  b.stop_signal = SIGTERM;
  if (auto sig = st.annotations.find(kStopSignalAnnotation); sig != st.annotations.end()) {
    try {
      b.stop_signal = runtime::parse_signal(sig->second);
    } catch (const std::exception& e) {
      log::warn(p.name + ": StopSignal: " + e.what() + "; SIGTERM is used");
    }
  }
  b.phase = Box::Phase::running;
  b.started_s = now_s();
  b.stop_sent = false;
  b.kill_at = 0;
  b.oom_event = false;
  cr.pid = st.pid;
  cr.last_status = "RUNNING";
  cr.started = true;
  cr.started_at = now_rfc3339();
  cr.exit_code.reset();
  cr.reason.clear();
  cr.network_bindings =
      st.extra.contains("networkBindings") ? st.extra["networkBindings"] : json::Json::array();
  if (p.health_check) {
    b.health.emplace(*p.health_check, b.started_s);
    cr.health_status = "UNKNOWN";
  }
  try {
    b.oom = OomWatch::open(cgroups::Layout::host(), task_container_cgroup_path(rec_.id, p.name));
  } catch (const std::exception& e) {
    log::warn(std::string("OOM events of ") + p.name + " not watched: " + e.what());
  }
  save();
  ::malloc_trim(0);
  text_.shed();
}

void Supervisor::read_stream(Box& b, UniqueFd& fd, LogStream s) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      if (b.log) b.log->write(s, std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF (or an error): the stream is over.
    if (b.log) b.log->flush_partial(s);
    fd.reset();
    return;
  }
}

void Supervisor::drain(Box& b, bool until_eof) {
  // After the container's init died its PID namespace is gone, so EOF follows the data
  // still in the pipes; without a PID namespace (pidMode host) a leftover process may hold
  // them: read what is there and let go.
  for (int round = 0; round < (until_eof ? 50 : 1); ++round) {
    if (b.out) read_stream(b, b.out, LogStream::stdout_);
    if (b.err) read_stream(b, b.err, LogStream::stderr_);
    if (!b.out && !b.err) return;
    if (until_eof) {
      pollfd p[2] = {{b.out ? b.out.get() : -1, POLLIN, 0}, {b.err ? b.err.get() : -1, POLLIN, 0}};
      ::poll(p, 2, 10);
    }
  }
  if (b.out) {
    if (b.log) b.log->flush_partial(LogStream::stdout_);
    b.out.reset();
  }
  if (b.err) {
    if (b.log) b.log->flush_partial(LogStream::stderr_);
    b.err.reset();
  }
}

void Supervisor::on_exit(Box& b, int status) {
  ContainerRecord& cr = rec(b);
  int code = runtime::exit_code_of(status);
  bool killed9 = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  std::string reason;
  // An OOM kill is counted in the killed process's own memory cgroup, whichever limit (the
  // container's or the task's) was hit.
  if (b.oom && b.oom->consume()) b.oom_event = true;
  try {
    cgroups::Cgroup cg(cgroups::Layout::host(), task_container_cgroup_path(rec_.id, b.plan->name));
    if (cg.exists() && cg.memory_events().oom_kill > 0) b.oom_event = true;
  } catch (const std::exception& e) {
    log::debug(std::string("memory events: ") + e.what());
  }
  if (b.oom_event && (killed9 || code == 137)) reason = kOomReason;
  cr.exit_code = code;
  drain(b, true);
  if (b.probe_pid > 0) {
    ::kill(b.probe_pid, SIGKILL);
  }
  bool restart = should_restart(*b.plan, code, now_s() - b.started_s, stopping_);
  finish_box(b, reason, restart);
  if (restart) {
    cr.restart_count++;
    b.phase = Box::Phase::pending;
    cr.last_status = "PENDING";
    save();
    return;  // schedule() starts it again
  }
  if (b.plan->essential && !stopping_) begin_stop(kEssentialExited, "EssentialContainerExited");
}

// The container process is gone: its network, cgroup, runtime state and rootfs go too (its
// log stays with the task).
void Supervisor::remove_kept(Box& b) {
  if (b.kept_rootfs.empty()) return;
  b.kept_rootfs.clear();
  remove_container(b.id, false);
}

// In a worker: the runtime container and its network, and unless keep_rootfs its rootfs and
// files too.
void Supervisor::remove_container(const std::string& id, bool keep_rootfs) {
  std::string root = opts_.runtime_root, store_root = store_root_;
  std::string err = run_in_worker([&] {
    if (keep_rootfs) {
      runtime::delete_container(root, id, true);
      net::teardown_network(id);
      return;
    }
    auto store = oci::ImageStore::open(store_root);
    remove_launched(*store, root, id);
  });
  if (!err.empty()) log::warn("remove container " + id + ": " + err);
}

void Supervisor::finish_box(Box& b, const std::string& reason, bool keep_rootfs) {
  ContainerRecord& cr = rec(b);
  b.phase = Box::Phase::stopped;
  b.pid = 0;
  b.oom.reset();
  b.health.reset();
  cr.pid = 0;
  cr.last_status = "STOPPED";
  cr.stopped_at = now_rfc3339();
  if (!reason.empty()) cr.reason = reason;
  cr.network_bindings = json::Json::array();
  if (keep_rootfs) {
    // The runtime container and its network go; its filesystem stays for the restart.
    try {
      b.kept_rootfs = runtime::StateDir(opts_.runtime_root, b.id).load().rootfs;
    } catch (const std::exception& e) {
      log::warn(e.what());
    }
  }
  remove_container(b.id, keep_rootfs);
  save();
}

void Supervisor::start_probe(Box& b) {
  std::vector<std::string> argv = b.plan->health_check->argv();
  int timeout_s = b.plan->health_check->timeout_s;
  std::string root = opts_.runtime_root, id = b.id;
  pid_t pid = ::fork();
  if (pid < 0) {
    log::warn(std::string("health check of ") + b.plan->name + ": fork: " + std::strerror(errno));
    b.health->record(false, now_s());
    return;
  }
  if (pid == 0) {
    // The probe runs in the container; this child waits for it with the timeout so the
    // supervisor only sees one exit status. SIGCHLD stays blocked for sigtimedwait.
    try {
      UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
      runtime::ExecOptions eo;
      eo.root = root;
      eo.id = id;
      eo.args = argv;
      eo.stdio[0] = eo.stdio[1] = eo.stdio[2] = null_fd.get();
      pid_t probe = runtime::exec_process(eo);
      sigset_t chld;
      sigemptyset(&chld);
      sigaddset(&chld, SIGCHLD);
      timespec limit{timeout_s, 0};
      double deadline = now_s() + timeout_s;
      for (;;) {
        int status = 0;
        pid_t r = ::waitpid(probe, &status, WNOHANG);
        if (r == probe) ::_exit(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
        double left = deadline - now_s();
        if (left <= 0) break;
        limit.tv_sec = static_cast<time_t>(left);
        limit.tv_nsec = static_cast<long>((left - static_cast<double>(limit.tv_sec)) * 1e9);
        sigtimedwait(&chld, nullptr, &limit);
      }
      ::kill(probe, SIGKILL);
      ::waitpid(probe, nullptr, 0);
      ::_exit(2);  // timed out
    } catch (const std::exception&) {
      ::_exit(3);
    }
  }
  b.probe_pid = pid;
  b.probe_kill_at = now_s() + timeout_s + 5;
}

void Supervisor::on_probe_done(Box& b, int status) {
  b.probe_pid = 0;
  if (!b.health || b.phase != Box::Phase::running) return;
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::string before = b.health->status();
  b.health->record(ok, now_s());
  std::string after = b.health->status();
  if (after != before || rec(b).health_status != after) {
    rec(b).health_status = after;
    save();
  }
}

void Supervisor::begin_stop(const std::string& reason, const std::string& code, int timeout_s) {
  if (timeout_s >= 0) stop_timeout_override_ = timeout_s;
  if (stopping_) return;
  stopping_ = true;
  rec_.desired_status = "STOPPED";
  rec_.stopped_reason = reason;
  rec_.stop_code = code;
  for (auto& b : boxes_)
    if (b.phase == Box::Phase::pending) {
      b.phase = Box::Phase::stopped;
      rec(b).last_status = "STOPPED";
      remove_kept(b);
    }
  save();
}

// Shutdown in reverse dependency order: a container gets its stop signal once every
// container that depends on it has stopped; SIGKILL after its stopTimeout.
void Supervisor::advance_stop() {
  double now = now_s();
  for (auto& b : boxes_) {
    if (b.phase != Box::Phase::running) continue;
    if (b.stop_sent) {
      if (now >= b.kill_at) {
        ::kill(b.pid, SIGKILL);
        b.kill_at = now + 3600;
      }
      continue;
    }
    bool dependents_stopped = true;
    for (const auto& o : boxes_) {
      if (o.phase == Box::Phase::stopped || &o == &b) continue;
      for (const auto& d : o.plan->depends_on)
        if (d.container == b.plan->name) dependents_stopped = false;
    }
    if (!dependents_stopped) continue;
    ::kill(b.pid, b.stop_signal);
    b.stop_sent = true;
    int t = stop_timeout_override_ >= 0 ? stop_timeout_override_ : b.plan->stop_timeout_s;
    b.kill_at = now + t;
  }
}

void Supervisor::schedule() {
  if (stopping_) return;
  bool changed = false;
  for (auto& b : boxes_) {
    if (b.phase != Box::Phase::pending || stopping_) continue;
    DependencyVerdict v = evaluate_dependencies(*b.plan, plan_, rec_, now_s() - t0_);
    if (v.state == DependencyState::waiting) continue;
    if (v.state == DependencyState::failed) {
      b.phase = Box::Phase::stopped;
      rec(b).last_status = "STOPPED";
      rec(b).reason = v.why;
      changed = true;
      if (b.plan->essential) begin_stop(v.why, "TaskFailedToStart");
      continue;
    }
    launch(b);
    changed = true;
  }
  if (changed) save();
}

bool Supervisor::all_stopped() const {
  for (const auto& b : boxes_)
    if (b.phase != Box::Phase::stopped || b.probe_pid > 0) return false;
  return true;
}

void Supervisor::maybe_ready() {
  bool essentials_up = true;
  for (const auto& b : boxes_)
    if (b.plan->essential && b.phase == Box::Phase::pending) essentials_up = false;
  if (essentials_up && rec_.last_status == "PENDING" && !stopping_) {
    rec_.last_status = "RUNNING";
    rec_.started_at = now_rfc3339();
    save();
  }
  if ((essentials_up || stopping_) && !ready_sent_) {
    ready_sent_ = true;
    if (opts_.notify_fd >= 0) write_all(opts_.notify_fd, "ready\n");
  }
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& b : boxes_) {
      if (b.phase == Box::Phase::running && b.pid == pid)
        on_exit(b, status);
      else if (b.probe_pid == pid)
        on_probe_done(b, status);
    }
  }
}

void Supervisor::loop() {
  for (;;) {
    schedule();
    maybe_ready();
    if (stopping_) advance_stop();
    if (all_stopped()) return;

    double now = now_s();
    if (now - last_shed_ >= 1.0) {
      text_.shed();
      last_shed_ = now;
    }
    // Dependency timeouts are checked every second while a container waits; otherwise the
    // supervisor sleeps until something happens.
    bool waiting = false;
    for (const auto& b : boxes_) waiting |= b.phase == Box::Phase::pending;
    double next = now + (waiting ? 1.0 : 3600.0);
    std::vector<pollfd> fds{{sigfd_.get(), POLLIN, 0}};
    std::vector<std::pair<Box*, int>> who;  // fd index -> box, 0 out 1 err 2 oom
    for (auto& b : boxes_) {
      if (b.out) fds.push_back({b.out.get(), POLLIN, 0}), who.push_back({&b, 0});
      if (b.err) fds.push_back({b.err.get(), POLLIN, 0}), who.push_back({&b, 1});
      if (b.oom) fds.push_back({b.oom->fd(), POLLIN, 0}), who.push_back({&b, 2});
      if (b.phase != Box::Phase::running) continue;
      if (b.health && b.probe_pid == 0 && !b.stop_sent) next = std::min(next, b.health->next_due());
      if (b.probe_pid > 0) next = std::min(next, b.probe_kill_at);
      if (b.stop_sent) next = std::min(next, b.kill_at);
    }
    int timeout_ms = std::max(0, static_cast<int>((next - now) * 1000) + 1);
    int n = ::poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0 && errno != EINTR) throw_errno("poll");
    if (n > 0) {
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        Box& b = *who[i - 1].first;
        switch (who[i - 1].second) {
          case 0:
            read_stream(b, b.out, LogStream::stdout_);
            break;
          case 1:
            read_stream(b, b.err, LogStream::stderr_);
            break;
          case 2:
            if (b.oom && b.oom->consume()) {
              b.oom_event = true;
              log::warn("OOM event in container " + b.plan->name);
            }
            break;
        }
      }
      if (fds[0].revents) {
        signalfd_siginfo si{};
        bool stop = false;
        while (::read(sigfd_.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si))
          if (si.ssi_signo != SIGCHLD) stop = true;
        if (stop) {
          std::string reason = "Task stopped by user";
          int timeout = -1;
          if (auto req = fs::read_file_if_exists(dir_->stop_request_path())) {
            try {
              auto j = json::parse(*req, dir_->stop_request_path());
              reason = j.value("reason", reason);
              timeout = j.value("timeout", -1);
            } catch (const std::exception& e) {
              log::warn(e.what());
            }
          }
          begin_stop(reason, "UserInitiated", timeout);
        }
        reap();
      }
    }
    now = now_s();
    for (auto& b : boxes_) {
      if (b.phase != Box::Phase::running) continue;
      if (b.probe_pid > 0 && now >= b.probe_kill_at) ::kill(b.probe_pid, SIGKILL);
      if (b.health && b.probe_pid == 0 && !b.stop_sent && now >= b.health->next_due())
        start_probe(b);
    }
  }
}

void Supervisor::teardown_task() {
  for (auto& b : boxes_) drain(b, false);
  for (auto& b : boxes_)
    if (b.log) b.log->close();
  try {
    remove_task_volumes(plan_, fs::join(dir_->dir(), "volumes"));
  } catch (const std::exception& e) {
    log::warn(e.what());
  }
  try {
    if (task_cgroup_) task_cgroup_->destroy();
  } catch (const std::exception& e) {
    log::warn(e.what());
  }
  rec_.last_status = "STOPPED";
  rec_.desired_status = "STOPPED";
  if (rec_.stopped_at.empty()) rec_.stopped_at = now_rfc3339();
  save();
  ::unlink(dir_->stop_request_path().c_str());
  if (opts_.notify_fd >= 0) {
    if (!ready_sent_) write_all(opts_.notify_fd, "ready\n");
    write_all(opts_.notify_fd, "stopped\n");
    ::close(opts_.notify_fd);
  }
}

}  // namespace

int supervise_task(const SupervisorOptions& opts) {
  Supervisor s(opts);
  return s.run();
}

bool request_task_stop(const std::string& store_root, const std::string& task_id,
                       const std::string& reason, int timeout_s) {
  TaskDir dir(store_root, task_id);
  TaskRecord r = dir.load();
  if (r.last_status == "STOPPED" || !r.supervisor_alive()) return false;
  json::Json req = {{"reason", reason}};
  if (timeout_s >= 0) req["timeout"] = timeout_s;
  fs::write_file_atomic(dir.stop_request_path(), req.dump() + "\n", 0644, false);
  return ::kill(r.supervisor_pid, SIGTERM) == 0;
}

}  // namespace ecsa::ecs
