// Child side of clone: the container's init, from the moment clone returns in the new
// namespaces until it execs the user's process. Every step reports failure to the parent over
// the sync socket; the parent prints it and removes what it created.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/child_mounts.hpp"
#include "runtime/container_init.hpp"
#include "runtime/hooks.hpp"
#include "runtime/init_context.hpp"
#include "runtime/sync_channel.hpp"

namespace ecsa::runtime {

namespace {

void send_msg(int fd, SyncMsg type, const std::string& payload) {
  std::string buf(sizeof(uint32_t) + payload.size(), '\0');
  uint32_t t = static_cast<uint32_t>(type);
  std::memcpy(buf.data(), &t, sizeof t);
  std::memcpy(buf.data() + sizeof t, payload.data(), payload.size());
  while (::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

std::string wait_go(int fd) {
  std::string buf(64 * 1024, '\0');
  ssize_t n;
  do {
    n = ::recv(fd, buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  // The parent gave up (error or killed): there is nobody to report to.
  if (n < static_cast<ssize_t>(sizeof(uint32_t))) _exit(1);
  return buf.substr(sizeof(uint32_t), static_cast<size_t>(n) - sizeof(uint32_t));
}

int ns_flag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  return 0;
}

void join_namespaces(const oci::Spec& spec) {
  // The user namespace first: joining the others needs the capabilities it grants.
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& ns : spec.linux.namespaces) {
      if (ns.path.empty() || ns.type == "pid") continue;
      if ((ns.type == "user") != (pass == 0)) continue;
      UniqueFd fd(open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) throw_errno("open " + ns.type + " namespace " + ns.path);
      if (setns(fd.get(), ns_flag(ns.type)) != 0) throw_errno("join " + ns.type + " namespace " + ns.path);
    }
  }
}

void write_sysctls(const oci::Spec& spec) {
  for (const auto& [key, value] : spec.linux.sysctl) {
    std::string path = "/proc/sys/" + key;
    for (size_t i = 10; i < path.size(); ++i)
      if (path[i] == '.') path[i] = '/';
    fs::write_existing(path, value);
  }
}

// Finds the executable the way execvp would, but with the container's PATH.
std::string resolve_exec(const oci::Process& p) {
  if (p.args.empty()) throw Error("process.args: must not be empty");
  const std::string& cmd = p.args[0];
  auto check = [](const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (cmd.find('/') != std::string::npos) {
    struct stat st;
    if (stat(cmd.c_str(), &st) != 0) throw_errno("exec " + cmd);
    if (!S_ISREG(st.st_mode)) throw Error("exec " + cmd + ": not a regular file");
    return cmd;
  }
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : p.env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string dir = path.substr(i, j - i);
    if (dir.empty()) dir = ".";
    std::string full = dir + "/" + cmd;
    if (check(full)) return full;
    i = j + 1;
  }
  throw Error("exec: \"" + cmd + "\": executable file not found in $PATH");
}

void setup_console(const InitContext& ctx) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) throw_errno("open /dev/ptmx");
  UniqueFd m(master);
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) throw_errno("unlock pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) throw_errno("open pty peer");
  UniqueFd s(slave);
  int ptn = 0;
  if (ioctl(master, TIOCGPTN, &ptn) != 0) throw_errno("get pty number");
  const auto& proc = *ctx.spec->process;
  if (proc.console_height || proc.console_width) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(proc.console_height);
    ws.ws_col = static_cast<unsigned short>(proc.console_width);
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  // Hand the master to whoever listens on --console-socket (containerd, podman's conmon).
  std::string name = "/dev/pts/" + std::to_string(ptn);
  iovec iov{name.data(), name.size()};
  char ctrl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof ctrl;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &master, sizeof(int));
  if (sendmsg(ctx.console_socket, &msg, MSG_NOSIGNAL) < 0) throw_errno("send pty to console socket");
  close(ctx.console_socket);
  if (setsid() < 0) throw_errno("setsid");
  if (ioctl(slave, TIOCSCTTY, 0) != 0) throw_errno("set controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (dup2(slave, fd) < 0) throw_errno("dup pty to fd " + std::to_string(fd));
}

void switch_user(const InitContext& ctx) {
  const auto& u = ctx.spec->process->user;
  std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
  bool setgroups_allowed = true;
  if (ctx.new_userns) {
    auto sg = fs::read_file_if_exists("/proc/self/setgroups");
    setgroups_allowed = !sg || sg->rfind("deny", 0) != 0;
  }
  if (setgroups_allowed && setgroups(groups.size(), groups.data()) != 0) throw_errno("setgroups");
  if (setresgid(u.gid, u.gid, u.gid) != 0) throw_errno("setgid " + std::to_string(u.gid));
  // Keep the permitted set across setuid; the capability unit then sets the exact sets.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) throw_errno("prctl keepcaps");
  if (setresuid(u.uid, u.uid, u.uid) != 0) throw_errno("setuid " + std::to_string(u.uid));
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

// Blocks until `start` writes to the exec fifo. poll() on a reader that has never seen a
// writer waits for one (no POLLHUP), so no /proc access is needed after pivot_root.
void wait_for_start(int fifo_fd) {
  int flags = fcntl(fifo_fd, F_GETFL);
  fcntl(fifo_fd, F_SETFL, flags & ~O_NONBLOCK);
  for (;;) {
    pollfd p{fifo_fd, POLLIN, 0};
    int r = poll(&p, 1, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) _exit(1);
    char c;
    ssize_t n = read(fifo_fd, &c, 1);
    if (n == 1) break;
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) _exit(1);  // start went away
  }
  // fifo_fd stays open until exec closes it (O_CLOEXEC): `start` waits for that to run the
  // poststart hooks after the process is executed, as the spec orders them.
}

}  // namespace

void container_init(InitContext& ctx, int sync_fd) {
  const oci::Spec& spec = *ctx.spec;
  const oci::Process& proc = *spec.process;
  std::string state_json;
  try {
    // No one in the container may open our /proc/<pid>/exe (the runtime binary on the host)
    // before we exec: CVE-2019-5736. execve resets it.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // If `create` dies before we are ready, we die too: nothing half-made survives.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // The parent places us in the cgroup (a v1 migration waits for an RCU grace period, the
    // slowest step of a start) while we mount, unless something must come first: id maps
    // for a user namespace, the network hook's files, a cgroup2 mount in our cgroupns.
    if (ctx.parent_first) wait_go(sync_fd);
    for (int i = 0; i < 3; ++i)
      if (ctx.stdio[i] >= 0 && dup2(ctx.stdio[i], i) < 0) throw_errno("dup2 stdio " + std::to_string(i));

    if (ctx.new_userns) {
      if (setresgid(0, 0, 0) != 0) throw_errno("setgid 0 in user namespace");
      if (setresuid(0, 0, 0) != 0) throw_errno("setuid 0 in user namespace");
    }
    join_namespaces(spec);
    if (ctx.parent_first && ctx.new_cgroupns && unshare(CLONE_NEWCGROUP) != 0)
      throw_errno("create cgroup namespace");

    // The exec fifo's read end was opened by the parent (a user namespace may not reach the
    // state directory); it is closed by execve.
    int fifo_fd = ctx.fifo_fd;

    child_mount_rootfs(ctx);
    if (!ctx.parent_first) {
      wait_go(sync_fd);  // now in the cgroup
      if (ctx.new_cgroupns && unshare(CLONE_NEWCGROUP) != 0) throw_errno("create cgroup namespace");
    }
    send_msg(sync_fd, SyncMsg::mounts_done, "");
    state_json = wait_go(sync_fd);  // prestart and createRuntime hooks have run

    run_hooks("createContainer", spec.hooks.create_container, state_json);
    child_pivot_root(ctx);
    child_finish_rootfs(ctx);
    write_sysctls(spec);
    if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
      throw_errno("sethostname " + spec.hostname);
    if (!spec.domainname.empty() && setdomainname(spec.domainname.data(), spec.domainname.size()) != 0)
      throw_errno("setdomainname " + spec.domainname);
    if (proc.terminal) setup_console(ctx);
    apply_rlimits(ctx.rlimits);
    // After pivot_root, so that the working directory is inside the container (CVE-2024-21626).
    if (chdir(proc.cwd.c_str()) != 0) throw_errno("chdir to cwd " + proc.cwd);
    if (proc.user.umask) umask(static_cast<mode_t>(*proc.user.umask));
    if (ctx.seccomp && !proc.no_new_privileges) ctx.seccomp->load();
    switch_user(ctx);
    if (ctx.caps) apply_capabilities(*ctx.caps);
    if (proc.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
      throw_errno("prctl no_new_privs");
    ctx.exec_path = resolve_exec(proc);

    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    send_msg(sync_fd, SyncMsg::ready, "");
    close(sync_fd);
    wait_for_start(fifo_fd);
  } catch (const std::exception& e) {
    send_msg(sync_fd, SyncMsg::error, e.what());
    _exit(1);
  }

  // Started. From here errors go to the process's stderr: `create` is gone.
  try {
    // The spec gives every hook the state on stdin, startContainer ones included.
    run_hooks("startContainer", spec.hooks.start_container, state_json);
  } catch (const std::exception& e) {
    dprintf(2, "ecsa-run: %s\n", e.what());
    _exit(1);
  }
  // No host descriptor may reach the process (CVE-2024-21626): all but stdio and the
  // preserved ones are closed on exec.
  syscall(SYS_close_range, 3 + ctx.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  std::vector<char*> argv, envp;
  for (const auto& a : proc.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : proc.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  if (ctx.seccomp && proc.no_new_privileges) {
    try {
      ctx.seccomp->load();
    } catch (const std::exception& e) {
      dprintf(2, "ecsa-run: %s\n", e.what());
      _exit(1);
    }
  }
  // With "ecsa.init": "true" we stay as PID 1 (reaper, signal forwarder) under every
  // restriction the process gets, and the process runs as our child (PID 2).
  if (init_requested(spec.annotations)) split_off_init();
  execve(ctx.exec_path.c_str(), argv.data(), envp.data());
  dprintf(2, "ecsa-run: exec %s: %s\n", ctx.exec_path.c_str(), strerror(errno));
  _exit(127);
}

}  // namespace ecsa::runtime
