// Parent side of clone: `create`. Prepares everything the init needs (parsed config, cgroup,
// seccomp filter, exec fifo) before clone, then drives the init through its steps over the
// sync socket. A failure at any step kills the init and removes the cgroup and the state.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "cgroups/cgroups.hpp"
#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/cgroup_self_entry.hpp"
#include "runtime/hooks.hpp"
#include "runtime/init_context.hpp"
#include "runtime/run_start.hpp"
#include "runtime/sync_channel.hpp"

namespace ecsa::runtime {

namespace {

int clone_flags(const oci::Spec& spec) {
  int flags = 0;
  for (const auto& ns : spec.linux.namespaces) {
    if (!ns.path.empty()) continue;
    if (ns.type == "pid") flags |= CLONE_NEWPID;
    else if (ns.type == "network") flags |= CLONE_NEWNET;
    else if (ns.type == "mount") flags |= CLONE_NEWNS;
    else if (ns.type == "ipc") flags |= CLONE_NEWIPC;
    else if (ns.type == "uts") flags |= CLONE_NEWUTS;
    else if (ns.type == "user") flags |= CLONE_NEWUSER;
    // cgroup: unshared by the init once it is in its cgroup; time: refused at parse time.
  }
  return flags;
}

std::string cgroup_path_for(const oci::Spec& spec, const std::string& id) {
  const std::string& p = spec.linux.cgroups_path;
  if (p.empty()) return "/ecsa/" + id;
  if (p[0] == '/') return p;
  if (p.find(':') != std::string::npos)
    throw Error("linux.cgroupsPath: \"" + p + "\" is a systemd slice path; --systemd-cgroup is not supported");
  return "/ecsa/" + p;
}

// Device rules: the spec's, then access to the default devices (as runc adds them), so a
// "deny all" config still has /dev/null and friends.
cgroups::Resources with_default_device_rules(const oci::Spec& spec) {
  cgroups::Resources r = spec.linux.resources;
  if (r.devices.empty()) return r;
  auto allow = [&](char type, int64_t major, int64_t minor, const char* access) {
    cgroups::DeviceRule d;
    d.allow = true;
    d.type = type;
    if (major >= 0) d.major = major;
    if (minor >= 0) d.minor = minor;
    d.access = access;
    r.devices.push_back(d);
  };
  allow('c', 1, 3, "rwm");    // null
  allow('c', 1, 5, "rwm");    // zero
  allow('c', 1, 7, "rwm");    // full
  allow('c', 1, 8, "rwm");    // random
  allow('c', 1, 9, "rwm");    // urandom
  allow('c', 5, 0, "rwm");    // tty
  allow('c', 5, 2, "rwm");    // ptmx
  allow('c', 136, -1, "rwm"); // pts
  allow('c', 10, 200, "rwm"); // tun
  for (const auto& d : spec.linux.devices) {
    char type = d.type == "u" ? 'c' : d.type[0];
    if (type == 'p') continue;
    allow(type, d.major, d.minor, "rwm");
  }
  return r;
}

void write_id_map(pid_t pid, const char* file, const std::vector<oci::IdMapping>& maps) {
  if (maps.empty()) return;
  std::string text;
  for (const auto& m : maps)
    text += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
            std::to_string(m.size) + "\n";
  fs::write_existing("/proc/" + std::to_string(pid) + "/" + file, text);
}

UniqueFd connect_console(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("console socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw Error("console socket " + path + ": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw_errno("connect console socket " + path);
  return fd;
}

json::Json spec_state(const ContainerState& s, const char* status) {
  return {{"ociVersion", kOciVersion}, {"id", s.id},         {"status", status},
          {"pid", s.pid},              {"bundle", s.bundle}, {"annotations", s.annotations}};
}

// `run` passes `start_pipe`: the init then waits on a pipe instead of the exec fifo, and the
// pipe's write end and the saved state are handed back.
pid_t create(const CreateOptions& opts, RunningStart* start_pipe) {
  validate_id(opts.id);
  std::string context = "create " + opts.id;
  // Resolve the bundle before anything exists, so a bad config leaves nothing behind.
  std::string bundle = opts.bundle.empty() ? "." : opts.bundle;
  {
    char* real = realpath(bundle.c_str(), nullptr);
    if (!real) throw_errno(context + ": bundle " + bundle);
    bundle = real;
    free(real);
  }
  auto spec = std::make_unique<oci::Spec>();
  InitContext ctx;
  std::optional<SeccompFilter> seccomp;
  try {
    *spec = oci::load_spec(bundle);
    if (!spec->process) throw Error("config.json: process: required to create a container");
    if (!spec->linux.has_namespace("mount"))
      throw Error("config.json: linux.namespaces: a mount namespace is required");
    if (spec->linux.has_namespace("time"))
      throw Error("config.json: linux.namespaces: time namespaces are not supported");
    if (spec->process->terminal && opts.console_socket.empty())
      throw Error("config.json: process.terminal is true: --console-socket is required");
    if (spec->process->capabilities)
      ctx.caps = parse_capabilities(json::Node(*spec->process->capabilities, "process.capabilities"));
    if (spec->process->rlimits)
      ctx.rlimits = parse_rlimits(json::Node(*spec->process->rlimits, "process.rlimits"));
    if (spec->linux.seccomp) {
      seccomp.emplace(parse_seccomp(json::Node(*spec->linux.seccomp, "linux.seccomp")));
      ctx.seccomp = &*seccomp;
    }
    if (!spec->process->apparmor_profile.empty() || !spec->process->selinux_label.empty())
      log::debug("apparmor/selinux labels are not applied by ecsa");
  } catch (const Error&) {
    rethrow_with_context(context);
  }

  fs::mkdir_p(opts.root, 0700);
  StateDir dir(opts.root, opts.id);
  if (mkdir(dir.dir().c_str(), 0700) != 0) {
    if (errno == EEXIST) throw Error(context + ": container " + opts.id + " already exists");
    throw_errno(context + ": mkdir " + dir.dir());
  }

  const cgroups::Layout& layout = cgroups::Layout::host();
  cgroups::Cgroup cg(layout, cgroup_path_for(*spec, opts.id));
  pid_t pid = -1;
  bool cgroup_made = false;
  ContainerState state;
  try {
    ctx.spec = spec.get();
    ctx.id = opts.id;
    ctx.bundle = bundle;
    ctx.rootfs = spec->root_path;
    ctx.fifo_path = dir.fifo_path();
    ctx.no_pivot = opts.no_pivot;
    ctx.preserve_fds = opts.preserve_fds;
    for (int i = 0; i < 3; ++i) ctx.stdio[i] = opts.stdio[i];
    ctx.new_userns = spec->linux.has_namespace("user") && spec->linux.find_namespace("user")->path.empty();
    ctx.new_cgroupns = spec->linux.has_namespace("cgroup") && spec->linux.find_namespace("cgroup")->path.empty();
    ctx.parent_first = ctx.new_userns || opts.on_namespaces_ready ||
                       (layout.mode == cgroups::Mode::v2 && ctx.new_cgroupns);
    if (layout.mode == cgroups::Mode::v2) {
      ctx.cgroup_v2_only = true;
      ctx.cgroup_binds.emplace_back("", cg.dir(""));
    } else {
      // One bind per hierarchy, named like its mount point ("cpu,cpuacct", "systemd").
      for (const auto& mnt : layout.v1_roots()) {
        std::string sub = fs::basename(mnt);
        for (const auto& [name, m] : layout.v1_mounts)
          if (m == mnt) {
            ctx.cgroup_binds.emplace_back(sub, cg.dir(name));
            break;
          }
      }
      if (!layout.v2_mount.empty()) ctx.cgroup_binds.emplace_back("unified", cg.dir(""));
    }
    {
      char* real = realpath(ctx.rootfs.c_str(), nullptr);
      if (!real) throw_errno("rootfs " + ctx.rootfs);
      ctx.rootfs = real;
      free(real);
    }

    cg.create();
    cgroup_made = true;
    cg.apply(with_default_device_rules(*spec));
    UniqueFd fifo;
    if (start_pipe) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) throw_errno("create start pipe");
      fifo.reset(p[0]);
      start_pipe->start_fd.reset(p[1]);
    } else {
      if (mkfifo(ctx.fifo_path.c_str(), 0622) != 0) throw_errno("mkfifo " + ctx.fifo_path);
      // Non-blocking: opening a fifo's read end must not wait for a writer.
      fifo.reset(open(ctx.fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
      if (!fifo) throw_errno("open exec fifo " + ctx.fifo_path);
    }
    ctx.fifo_fd = fifo.get();
    UniqueFd console;
    if (spec->process->terminal) {
      console = connect_console(opts.console_socket);
      ctx.console_socket = console.get();
    }
    // Joining a pid namespace by path changes where our next child goes: the init's.
    // Our own children after it (hooks) must not follow, so it is undone right after clone.
    UniqueFd own_pidns;
    if (auto* pidns = spec->linux.find_namespace("pid"); pidns && !pidns->path.empty()) {
      own_pidns.reset(open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
      if (!own_pidns) throw_errno("open /proc/self/ns/pid");
      UniqueFd fd(open(pidns->path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) throw_errno("open pid namespace " + pidns->path);
      if (setns(fd.get(), CLONE_NEWPID) != 0) throw_errno("join pid namespace " + pidns->path);
    }

    const std::vector<std::string> self_entry = self_entry_files(layout, cg, ctx.new_userns);
    SyncChannel parent_end, child_end;
    SyncChannel::make_pair(parent_end, child_end);
    // A fork-like clone: the child continues here with a copy of our memory, so the parsed
    // spec and the compiled seccomp filter are simply there.
    pid = static_cast<pid_t>(syscall(SYS_clone, clone_flags(*spec) | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
    if (pid < 0) throw_errno("clone container init");
    if (pid == 0) {
      parent_end.close();
      // Only `run` may hold the write end: if it dies, the init reads end-of-file and exits.
      if (start_pipe) start_pipe->start_fd.reset();
      // Non-dumpable from the first instruction on (CVE-2019-5736; container_init says so too).
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
      enter_cgroups_self(self_entry, child_end.fd());
      container_init(ctx, child_end.fd());
    }
    child_end.close();
    console.reset();
    fifo.reset();
    if (own_pidns && setns(own_pidns.get(), CLONE_NEWPID) != 0) throw_errno("return to own pid namespace");

    attach_rest(cg, layout, self_entry, pid);
    write_id_map(pid, "uid_map", spec->linux.uid_mappings);
    write_id_map(pid, "gid_map", spec->linux.gid_mappings);
    if (spec->process->oom_score_adj)
      fs::write_existing("/proc/" + std::to_string(pid) + "/oom_score_adj",
                         std::to_string(*spec->process->oom_score_adj));
    state.id = opts.id;
    state.pid = pid;
    state.pid_start_time = process_start_time(pid);
    state.bundle = bundle;
    state.rootfs = ctx.rootfs;
    state.created = now_rfc3339();
    // state.owner stays empty: `list` names the state directory's owner (as runc does), so
    // that no start reads nsswitch.conf and the passwd database.
    state.annotations = spec->annotations;
    state.cgroup_path = cg.path();
    state.poststop_hooks = hooks_to_json(spec->hooks.poststop);
    state.extra["poststartHooks"] = hooks_to_json(spec->hooks.poststart);
    dir.save(state);  // from here on, delete can clean up what the steps below make
    // The namespaces exist and the init has not mounted anything yet: network setup here
    // can still write files (hosts, resolv.conf) that the config bind-mounts.
    if (opts.on_namespaces_ready) {
      opts.on_namespaces_ready(pid, state);
      dir.save(state);
    }
    try {
      parent_end.send(SyncMsg::go);
    } catch (const Error&) {
      // The init may have failed while mounting before our go: its error is queued.
      parent_end.expect(SyncMsg::mounts_done);
      throw;
    }
    parent_end.expect(SyncMsg::mounts_done);
    std::string creating = spec_state(state, "creating").dump();
    run_hooks("prestart", spec->hooks.prestart, creating);
    run_hooks("createRuntime", spec->hooks.create_runtime, creating);
    parent_end.send(SyncMsg::go, creating);
    parent_end.expect(SyncMsg::ready);
    if (!opts.pid_file.empty()) fs::write_file_atomic(opts.pid_file, std::to_string(pid), 0644, false);
  } catch (const std::exception& e) {
    if (start_pipe) start_pipe->start_fd.reset();
    std::string msg = context + ": " + e.what();
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    try {
      if (state.pid > 0 && opts.on_create_failed) opts.on_create_failed(state);
    } catch (const std::exception& e2) {
      log::warn(std::string("cleanup: ") + e2.what());
    }
    try {
      if (cgroup_made) cg.destroy();
    } catch (const std::exception& e2) {
      log::warn(std::string("cleanup: ") + e2.what());
    }
    try {
      dir.remove();
    } catch (const std::exception& e2) {
      log::warn(std::string("cleanup: ") + e2.what());
    }
    throw Error(msg);
  }
  if (start_pipe) {
    start_pipe->pid = pid;
    start_pipe->state = std::move(state);
  }
  return pid;
}

}  // namespace

pid_t create_container(const CreateOptions& opts) { return create(opts, nullptr); }

RunningStart create_container_for_run(const CreateOptions& opts) {
  RunningStart run;
  create(opts, &run);
  return run;
}

}  // namespace ecsa::runtime
