// start, state, kill, delete, run, list and ps: the commands that act on an existing container
// through its state directory.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "cgroups/cgroups.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"
#include "runtime/run_start.hpp"

namespace ecsa::runtime {

namespace {

json::Json spec_state(const ContainerState& s, Status st) {
  json::Json j = {{"ociVersion", kOciVersion}, {"id", s.id}, {"status", status_name(st)}};
  j["pid"] = st == Status::stopped ? 0 : s.pid;
  j["bundle"] = s.bundle;
  j["annotations"] = s.annotations;
  // Not in the runtime spec, ignored by its readers: the ECS port bindings of the container.
  if (s.extra.contains("networkBindings")) j["networkBindings"] = s.extra["networkBindings"];
  return j;
}

cgroups::Cgroup cgroup_of(const ContainerState& s) {
  return cgroups::Cgroup(cgroups::Layout::host(), s.cgroup_path);
}

void sleep_ms(int ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, nullptr);
}

// Kills every process of the container and waits (bounded) until the init is gone.
void kill_all_and_wait(const ContainerState& s) {
  auto cg = cgroup_of(s);
  for (int i = 0; i < 500; ++i) {
    bool any = false;
    if (process_alive(s.pid, s.pid_start_time)) {
      kill(s.pid, SIGKILL);
      any = true;
    }
    for (pid_t p : cg.pids()) {
      kill(p, SIGKILL);
      any = true;
    }
    if (!any) return;
    // Our own child (run in the foreground): reap it so it does not linger as a zombie.
    waitpid(s.pid, nullptr, WNOHANG);
    sleep_ms(10);
  }
  throw Error("processes of container " + s.id + " did not exit after SIGKILL");
}

// After the init got its byte on `fd`: it holds its end until execve closes it, so POLLERR on
// ours means the process is executing (or the init died).
void wait_exec(const std::string& id, UniqueFd& fd) {
  for (;;) {
    pollfd p{fd.get(), 0, 0};
    int r = poll(&p, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw_errno("start " + id + ": wait for exec");
    if (p.revents & (POLLERR | POLLHUP)) break;
  }
  fd.reset();
}

// After the exec, as the spec orders them.
void run_poststart(const ContainerState& s) {
  if (!s.extra.contains("poststartHooks")) return;
  auto hooks = hooks_from_json(s.extra["poststartHooks"]);
  try {
    run_hooks("poststart", hooks, spec_state(s, Status::running).dump());
  } catch (const std::exception& e) {
    // The spec: a failing poststart hook is a warning; the container keeps running.
    log::warn(e.what());
  }
}

}  // namespace

void start_container(const std::string& root, const std::string& id) {
  validate_id(id);
  StateDir dir(root, id);
  ContainerState s = dir.load();
  Status st = current_status(dir, s);
  if (st == Status::running) throw Error("start " + id + ": cannot start an already running container");
  if (st == Status::stopped) throw Error("start " + id + ": cannot start a container that has stopped");
  // The init holds the read end of the fifo; a writer that cannot open it means the init is gone.
  UniqueFd fd(open(dir.fifo_path().c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) throw_errno("start " + id + ": open exec fifo " + dir.fifo_path());
  if (write(fd.get(), "0", 1) != 1) throw_errno("start " + id + ": write exec fifo");
  wait_exec(id, fd);
  unlink(dir.fifo_path().c_str());
  run_poststart(s);
}

void start_from_handle(RunningStart& run) {
  const std::string& id = run.state.id;
  // A pipe without a reader (the init died) raises SIGPIPE: blocked here, and a pending one
  // is taken back, so that the error is reported instead.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n = write(run.start_fd.get(), "0", 1);
  int err = errno;
  if (n != 1 && err == EPIPE) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (n != 1) {
    errno = err;
    throw_errno("start " + id + ": write start pipe");
  }
  wait_exec(id, run.start_fd);
  run_poststart(run.state);
}

json::Json container_state(const std::string& root, const std::string& id) {
  validate_id(id);
  StateDir dir(root, id);
  ContainerState s = dir.load();
  return spec_state(s, current_status(dir, s));
}

void kill_container(const std::string& root, const std::string& id, int sig, bool all) {
  validate_id(id);
  StateDir dir(root, id);
  ContainerState s = dir.load();
  Status st = current_status(dir, s);
  if (st == Status::stopped && !all) throw Error("kill " + id + ": container not running");
  if (all) {
    for (pid_t p : cgroup_of(s).pids())
      if (kill(p, sig) != 0 && errno != ESRCH) throw_errno("kill " + id + ": pid " + std::to_string(p));
    return;
  }
  if (kill(s.pid, sig) != 0) throw_errno("kill " + id + ": pid " + std::to_string(s.pid));
}

void delete_container(const std::string& root, const std::string& id, bool force,
                      const std::function<void(const ContainerState&)>& on_removed) {
  validate_id(id);
  StateDir dir(root, id);
  if (!dir.exists()) {
    if (force) {
      if (fs::exists(dir.dir())) dir.remove();  // a create that died half-way
      return;
    }
    throw Error("delete " + id + ": container " + id + " does not exist");
  }
  delete_loaded(dir, dir.load(), force, on_removed);
}

void delete_loaded(const StateDir& dir, const ContainerState& s, bool force,
                   const std::function<void(const ContainerState&)>& on_removed) {
  const std::string& id = s.id;
  Status st = current_status(dir, s);
  if (st == Status::running && !force)
    throw Error("delete " + id + ": cannot delete container " + id + " that is not stopped: running");
  try {
    kill_all_and_wait(s);
    cgroup_of(s).destroy();
    if (on_removed) on_removed(s);
  } catch (const Error&) {
    rethrow_with_context("delete " + id);
  }
  try {
    run_hooks("poststop", hooks_from_json(s.poststop_hooks), spec_state(s, Status::stopped).dump());
  } catch (const std::exception& e) {
    log::warn(e.what());
  }
  dir.remove();
}

namespace {
volatile sig_atomic_t g_forward_pid = 0;
void forward_signal(int sig) {
  if (g_forward_pid > 0) kill(g_forward_pid, sig);
}
}  // namespace

int wait_forwarding_signals(pid_t pid) {
  g_forward_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = forward_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
    sigaction(sig, &sa, nullptr);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("wait for container process " + std::to_string(pid));
  }
  g_forward_pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_container(const CreateOptions& opts, bool detach,
                  const std::function<void(const ContainerState&)>& on_removed) {
  RunningStart run = create_container_for_run(opts);
  StateDir dir(opts.root, opts.id);
  try {
    start_from_handle(run);
  } catch (...) {
    try {
      delete_loaded(dir, run.state, true, on_removed);
    } catch (const std::exception& e) {
      log::warn(e.what());
    }
    throw;
  }
  if (detach) return 0;
  int code = wait_forwarding_signals(run.pid);
  delete_loaded(dir, run.state, true, on_removed);
  return code;
}

namespace {
// The user who owns a state directory, by name when the passwd database knows it.
std::string owner_of(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return "";
  passwd* pw = getpwuid(st.st_uid);
  return pw ? pw->pw_name : std::to_string(st.st_uid);
}
}  // namespace

std::vector<ContainerSummary> list_containers(const std::string& root) {
  std::vector<ContainerSummary> out;
  auto names = fs::list_dir(root);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    StateDir dir(root, name);
    if (!dir.exists()) continue;
    try {
      ContainerState s = dir.load();
      if (s.owner.empty()) s.owner = owner_of(dir.dir());
      out.push_back({s, current_status(dir, s)});
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }
  return out;
}

std::vector<pid_t> container_pids(const std::string& root, const std::string& id) {
  validate_id(id);
  StateDir dir(root, id);
  ContainerState s = dir.load();
  auto pids = cgroup_of(s).pids();
  std::sort(pids.begin(), pids.end());
  return pids;
}

int parse_signal(const std::string& in) {
  std::string s = in;
  if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit)) {
    int n = std::stoi(s);
    if (n <= 0 || n >= NSIG) throw Error("invalid signal \"" + in + "\"");
    return n;
  }
  for (auto& c : s) c = static_cast<char>(toupper(c));
  if (s.rfind("SIG", 0) == 0) s = s.substr(3);
  static const struct {
    const char* name;
    int sig;
  } names[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},
               {"TRAP", SIGTRAP}, {"ABRT", SIGABRT}, {"IOT", SIGIOT},   {"BUS", SIGBUS},
               {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
               {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
               {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
               {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},
               {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
               {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"POLL", SIGPOLL}, {"PWR", SIGPWR},
               {"SYS", SIGSYS}};
  for (const auto& n : names)
    if (s == n.name) return n.sig;
  if (s.rfind("RTMIN", 0) == 0 || s.rfind("RTMAX", 0) == 0) {
    int base = s.rfind("RTMIN", 0) == 0 ? SIGRTMIN : SIGRTMAX;
    std::string off = s.substr(5);
    int n = off.empty() ? 0 : std::stoi(off);
    int sig = base + n;
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) return sig;
  }
  throw Error("invalid signal \"" + in + "\"");
}

}  // namespace ecsa::runtime
