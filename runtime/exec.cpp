// exec: a new process in a running container. The caller prepares everything (config, seccomp
// program, namespace fds) before fork; the child only applies it and execs. The child lands in
// the container's PID namespace by a fork with the calling thread's pid_for_children switched
// to it, so it stays the caller's own child. It reports any failure over a close-on-exec
// socket: end-of-file there means the exec happened.
#include "runtime/exec.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cgroups/cgroups.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/rlimits.hpp"
#include "runtime/seccomp.hpp"
#include "runtime/state.hpp"

namespace ecsa::runtime {

namespace {

struct NsFd {
  const char* name;  // as in /proc/<pid>/ns
  int flag;
  UniqueFd fd;
};

// What the child applies, all computed before fork.
struct ExecPlan {
  std::vector<NsFd> namespaces;  // join order: user first (it grants the rights), mount last
  UniqueFd pid_ns;               // the container's, when it is not the caller's
  std::vector<std::string> args, env;
  std::string cwd, path;  // path: the PATH that resolves args[0]
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool setgroups_allowed = true;
  std::optional<uint32_t> umask;
  std::optional<CapabilitySets> caps;
  std::vector<Rlimit> rlimits;
  std::optional<SeccompFilter> seccomp;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  int stdio[3] = {-1, -1, -1};
};

// fds 0-2 are the child's stdio: anything the child must keep apart from them lives above.
UniqueFd above_stdio(int fd, const std::string& what) {
  if (fd < 0) throw_errno(what);
  if (fd >= 3) return UniqueFd(fd);
  int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int err = errno;
  close(fd);
  if (high < 0) throw_errno(what, err);
  return UniqueFd(high);
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0) throw_errno("stat " + a);
  if (stat(b.c_str(), &sb) != 0) throw_errno("stat " + b);
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// The init's namespaces that differ from ours, opened now so that a pid reused later cannot
// redirect us (the init's start time is checked again after this).
void open_namespaces(pid_t init, ExecPlan& plan) {
  static const struct {
    const char* name;
    int flag;
  } kOrder[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
                {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};
  const std::string base = "/proc/" + std::to_string(init) + "/ns/";
  for (const auto& ns : kOrder) {
    std::string path = base + ns.name;
    if (!fs::exists(path) || same_file(path, std::string("/proc/self/ns/") + ns.name)) continue;
    plan.namespaces.push_back(
        {ns.name, ns.flag, above_stdio(open(path.c_str(), O_RDONLY | O_CLOEXEC), "open " + path)});
  }
  std::string pid_path = base + "pid";
  if (!same_file(pid_path, "/proc/thread-self/ns/pid_for_children"))
    plan.pid_ns = above_stdio(open(pid_path.c_str(), O_RDONLY | O_CLOEXEC), "open " + pid_path);
}

// Makes the calling thread's next child start in another PID namespace, until restore().
class PidNsForChildren {
 public:
  explicit PidNsForChildren(int target) {
    own_.reset(open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
    if (!own_) throw_errno("open /proc/thread-self/ns/pid_for_children");
    if (setns(target, CLONE_NEWPID) != 0) throw_errno("join the container's pid namespace");
  }
  void restore() {
    if (own_ && setns(own_.get(), CLONE_NEWPID) != 0) throw_errno("return to own pid namespace");
    own_.reset();
  }
  ~PidNsForChildren() {
    if (own_ && setns(own_.get(), CLONE_NEWPID) != 0)
      log::warn(errno_message("return to own pid namespace", errno));
  }

 private:
  UniqueFd own_;
};

void send_error(int fd, const std::string& msg) {
  while (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// execvp's search, with the container's PATH and the errno execvp would give.
std::string resolve_command(const std::string& cmd, const std::string& path) {
  if (cmd.empty()) throw Error("exec: empty command");
  if (cmd.find('/') != std::string::npos) {
    struct stat st;
    if (stat(cmd.c_str(), &st) != 0) throw_errno("exec " + cmd);
    if (!S_ISREG(st.st_mode)) throw Error("exec " + cmd + ": not a regular file");
    return cmd;
  }
  bool denied = false;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
    struct stat st;
    if (stat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(full.c_str(), X_OK) == 0) return full;
      denied = true;
    }
    i = j + 1;
  }
  throw Error("exec " + cmd + ": " + std::strerror(denied ? EACCES : ENOENT) + " (searched PATH=" + path + ")");
}

void reset_signals() {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored signals stay ignored across execve: the caller's SIG_IGN (e.g. SIGPIPE in a
  // daemon) must not reach the process.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
}

// Child side of fork: in the container's PID namespace already. Never returns.
[[noreturn]] void exec_child(ExecPlan& plan, int sync_fd) {
  try {
    // Nothing in the container may ptrace us or open our /proc/<pid>/exe (the runtime's
    // binary on the host) before the exec: CVE-2019-5736. execve resets it.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    reset_signals();
    // The caller has put us in the container's cgroup (or gave up: end-of-file).
    char go;
    ssize_t n;
    do {
      n = ::recv(sync_fd, &go, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n != 1) _exit(1);

    for (auto& ns : plan.namespaces) {
      if (setns(ns.fd.get(), ns.flag) != 0) throw_errno(std::string("join ") + ns.name + " namespace");
      ns.fd.reset();
    }
    // Stdio may sit on 0-2 in another order: lift them above first, then put them in place.
    int lifted[3] = {-1, -1, -1};
    for (int i = 0; i < 3; ++i)
      if (plan.stdio[i] >= 0 && (lifted[i] = fcntl(plan.stdio[i], F_DUPFD_CLOEXEC, 3)) < 0)
        throw_errno("dup stdio " + std::to_string(i));
    for (int i = 0; i < 3; ++i)
      if (lifted[i] >= 0 && dup2(lifted[i], i) < 0) throw_errno("dup2 stdio " + std::to_string(i));
    // Not a single host descriptor past this point (CVE-2024-21626: a cwd or path through
    // /proc/self/fd/N would reach the host): only stdio and the close-on-exec sync socket.
    if (sync_fd > 3) syscall(SYS_close_range, 3U, static_cast<unsigned>(sync_fd - 1), 0U);
    syscall(SYS_close_range, static_cast<unsigned>(sync_fd + 1), ~0U, 0U);

    apply_rlimits(plan.rlimits);
    if (chdir(plan.cwd.c_str()) != 0) throw_errno("chdir to cwd " + plan.cwd);
    if (plan.umask) umask(static_cast<mode_t>(*plan.umask));
    // Without no_new_privs the filter needs CAP_SYS_ADMIN, gone after the user switch.
    if (plan.seccomp && !plan.no_new_privileges) plan.seccomp->load();
    if (plan.setgroups_allowed && setgroups(plan.groups.size(), plan.groups.data()) != 0)
      throw_errno("setgroups");
    if (setresgid(plan.gid, plan.gid, plan.gid) != 0) throw_errno("setgid " + std::to_string(plan.gid));
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_errno("prctl keepcaps");
    if (setresuid(plan.uid, plan.uid, plan.uid) != 0) throw_errno("setuid " + std::to_string(plan.uid));
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (plan.caps) apply_capabilities(*plan.caps);
    if (plan.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      throw_errno("prctl no_new_privs");
    std::string exe = resolve_command(plan.args[0], plan.path);

    std::vector<char*> argv, envp;
    for (auto& a : plan.args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : plan.env) envp.push_back(e.data());
    envp.push_back(nullptr);
    // A detached exec outlives the command that started it.
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    // The last step: with no_new_privs the filter may forbid what the steps above needed.
    if (plan.seccomp && plan.no_new_privileges) plan.seccomp->load();
    execve(exe.c_str(), argv.data(), envp.data());
    throw_errno("exec " + plan.args[0]);
  } catch (const std::exception& e) {
    send_error(sync_fd, e.what());
  }
  _exit(127);
}

ExecPlan make_plan(const ExecOptions& opts, const ContainerState& s, const oci::Spec& spec) {
  const oci::Process& proc = *spec.process;
  ExecPlan plan;
  plan.args = opts.args;
  plan.env = opts.env.empty() ? proc.env : opts.env;
  plan.path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : plan.env)
    if (e.rfind("PATH=", 0) == 0) plan.path = e.substr(5);
  plan.cwd = opts.cwd.empty() ? proc.cwd : opts.cwd;
  plan.uid = opts.uid.value_or(proc.user.uid);
  plan.gid = opts.gid.value_or(proc.user.gid);
  const auto& gids = opts.additional_gids.empty() ? proc.user.additional_gids : opts.additional_gids;
  plan.groups.assign(gids.begin(), gids.end());
  plan.umask = proc.user.umask;
  plan.no_new_privileges = proc.no_new_privileges;
  plan.oom_score_adj = proc.oom_score_adj;
  if (proc.capabilities)
    plan.caps = parse_capabilities(json::Node(*proc.capabilities, "process.capabilities"));
  if (proc.rlimits) plan.rlimits = parse_rlimits(json::Node(*proc.rlimits, "process.rlimits"));
  if (spec.linux.seccomp)
    plan.seccomp.emplace(parse_seccomp(json::Node(*spec.linux.seccomp, "linux.seccomp")));
  for (int i = 0; i < 3; ++i) plan.stdio[i] = opts.stdio[i];

  open_namespaces(s.pid, plan);
  for (const auto& ns : plan.namespaces)
    if (ns.flag == CLONE_NEWUSER) {
      // A user namespace whose setgroups is denied (rootless maps) refuses setgroups(2).
      auto sg = fs::read_file_if_exists("/proc/" + std::to_string(s.pid) + "/setgroups");
      plan.setgroups_allowed = !sg || sg->rfind("deny", 0) != 0;
    }
  return plan;
}

// Receives the child's verdict: "" when it executed, else its error.
std::string child_verdict(int fd) {
  std::string buf(4096, '\0');
  ssize_t n;
  do {
    n = ::recv(fd, buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("receive from the exec child");
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace

pid_t exec_process(const ExecOptions& opts) {
  const std::string context = "exec " + opts.id;
  ExecPlan plan;
  ContainerState s;
  try {
    validate_id(opts.id);
    if (opts.args.empty()) throw Error("no command given");
    StateDir dir(opts.root, opts.id);
    s = dir.load();
    if (current_status(dir, s) == Status::stopped)
      throw Error("container " + opts.id + " is not running");
    oci::Spec spec = oci::load_spec(s.bundle);
    if (!spec.process) throw Error(s.bundle + "/config.json: process: missing");
    plan = make_plan(opts, s, spec);
    // The namespaces opened are the init's only if it is still the same process.
    if (!process_alive(s.pid, s.pid_start_time)) throw Error("container " + opts.id + " is not running");
  } catch (const Error&) {
    rethrow_with_context(context);
  }

  UniqueFd parent_end, child_end;
  pid_t pid = -1;
  try {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    parent_end = above_stdio(sv[0], "socketpair");
    child_end = above_stdio(sv[1], "socketpair");
    int fork_err = 0;
    {
      std::optional<PidNsForChildren> pidns;
      if (plan.pid_ns) pidns.emplace(plan.pid_ns.get());
      pid = fork();
      if (pid == 0) exec_child(plan, child_end.get());
      fork_err = errno;
      if (pidns) pidns->restore();
    }
    if (pid < 0) {
      // A PID namespace whose init has exited takes no new process.
      if (fork_err == ENOMEM && plan.pid_ns) throw Error("container " + opts.id + " is not running");
      throw_errno("fork", fork_err);
    }
    child_end.reset();
    cgroups::Cgroup(cgroups::Layout::host(), s.cgroup_path).add_process(pid);
    if (plan.oom_score_adj)
      fs::write_existing("/proc/" + std::to_string(pid) + "/oom_score_adj", std::to_string(*plan.oom_score_adj));
    if (::send(parent_end.get(), "g", 1, MSG_NOSIGNAL) != 1) throw_errno("start the exec child");
    std::string err = child_verdict(parent_end.get());
    if (!err.empty()) throw Error(err);
  } catch (const std::exception& e) {
    if (pid > 0) {
      kill(pid, SIGKILL);
      while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    throw Error(context + ": " + e.what());
  }
  return pid;
}

std::vector<std::string> container_process_env(const std::string& root, const std::string& id) {
  try {
    validate_id(id);
    ContainerState s = StateDir(root, id).load();
    oci::Spec spec = oci::load_spec(s.bundle);
    return spec.process ? spec.process->env : std::vector<std::string>{};
  } catch (const Error&) {
    rethrow_with_context("exec " + id);
  }
}

std::vector<std::string> merge_env(std::vector<std::string> base, const std::vector<std::string>& overrides) {
  for (const auto& kv : overrides) {
    std::string key = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (auto& e : base)
      if (e.substr(0, e.find('=')) == key) {
        e = kv;
        replaced = true;
      }
    if (!replaced) base.push_back(kv);
  }
  return base;
}

void exec_options_from_process(const json::Node& p, ExecOptions& opts) {
  if (p.bool_or("terminal", false)) p.at("terminal").fail("a terminal is not supported by exec");
  opts.args = p.at("args").strings();
  if (opts.args.empty()) p.at("args").fail("must not be empty");
  if (auto env = p.opt("env")) opts.env = env->strings();
  opts.cwd = p.str_or("cwd", "");
  if (!opts.cwd.empty() && opts.cwd[0] != '/') p.at("cwd").fail("must be an absolute path");
  if (auto u = p.opt("user")) {
    if (auto uid = u->opt("uid")) opts.uid = static_cast<uint32_t>(uid->int_in(0, UINT32_MAX));
    if (auto gid = u->opt("gid")) opts.gid = static_cast<uint32_t>(gid->int_in(0, UINT32_MAX));
    if (auto g = u->opt("additionalGids"))
      for (const auto& item : g->items()) opts.additional_gids.push_back(static_cast<uint32_t>(item.int_in(0, UINT32_MAX)));
  }
  for (const char* k : {"capabilities", "rlimits", "noNewPrivileges", "apparmorProfile", "selinuxLabel"})
    if (p.opt(k)) log::debug(std::string("exec --process: ") + k + " is taken from the container's config.json");
}

}  // namespace ecsa::runtime
