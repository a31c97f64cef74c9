// The runc-compatible face: `ecsa-runc [GLOBAL OPTIONS] VERB ...` / `ecsa-run oci ...`, the way
// containerd (runc shim BinaryName), podman (--runtime) and the OCI conformance suite drive a
// runtime: same verbs, flags, output and exit codes as runc.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/container.hpp"
#include "runtime/exec.hpp"
#include "runtime/seccomp.hpp"

namespace ecsa::cli {
namespace {

using runtime::kDefaultRoot;

const char* kOciHelp =
    "Usage: ecsa-runc [GLOBAL OPTIONS] COMMAND [OPTIONS] ...\n"
    "       ecsa-run oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ...\n\n"
    "The runc-compatible OCI runtime of ecsa.\n\n"
    "Commands:\n"
    "  create [--bundle DIR] [--pid-file F] [--console-socket SOCK] [--no-pivot] [--preserve-fds N] ID\n"
    "                       create a container; its process waits until `start`\n"
    "  start ID             start the process of a created container\n"
    "  run [--bundle DIR] [-d] [--pid-file F] [--console-socket SOCK] [--no-pivot] ID\n"
    "                       create and start; in the foreground, forward signals and exit\n"
    "                       with the container's status (128+signal when killed)\n"
    "  state ID             the container's state as runtime-spec JSON\n"
    "  exec [--env K=V]... [--cwd DIR] [--user UID[:GID]] [--additional-gids GID]... [-d]\n"
    "       [--pid-file F] [--process process.json] ID [COMMAND [ARG...]]\n"
    "                       run a process in a running container (its namespaces, cgroup,\n"
    "                       user, capabilities, rlimits, seccomp); in the foreground, forward\n"
    "                       signals and exit with its status (128+signal when killed)\n"
    "  kill [--all] ID [SIGNAL]   send a signal (default SIGTERM; names or numbers)\n"
    "  delete [--force] ID  remove a stopped container (--force: kill it first)\n"
    "  list [-q] [--format table|json]   list containers\n"
    "  ps [--format table|json] ID       processes of a container\n"
    "  spec [--bundle DIR] [--rootless]  write a default config.json\n"
    "  features             the runtime-spec features document\n\n"
    "Global options:\n"
    "  --root DIR           state directory (default /run/ecsa)\n"
    "  --log FILE           log file (default stderr)\n"
    "  --log-format text|json\n"
    "  --debug              debug logging\n"
    "  --systemd-cgroup     not supported by ecsa (an error)\n"
    "  --version, --help\n";

struct Global {
  std::string root = kDefaultRoot;
};

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "ecsa-run: %s\n", msg.c_str());
  return 1;
}

std::string need_id(const Args& a, const char* verb) {
  if (a.positional().empty()) throw Error(std::string(verb) + ": a container id is required");
  return a.positional()[0];
}

int cmd_spec(const std::vector<std::string>& argv) {
  Args a(argv, {{{"bundle", "b"}, true}, {{"rootless"}, false}});
  std::string path = fs::join(a.value_or("bundle", "."), "config.json");
  if (fs::exists(path)) throw Error("spec: File " + path + " exists. Remove it first");
  auto spec = oci::default_spec(a.has("rootless"));
  fs::write_file_atomic(path, spec.dump(2) + "\n", 0644);
  return 0;
}

runtime::CreateOptions create_options(const Global& g, const Args& a, const char* verb) {
  runtime::CreateOptions o;
  o.root = g.root;
  o.id = need_id(a, verb);
  o.bundle = a.value_or("bundle", ".");
  o.pid_file = a.value_or("pid-file", "");
  if (!o.pid_file.empty() && o.pid_file[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) o.pid_file = fs::join(cwd, o.pid_file);
  }
  o.console_socket = a.value_or("console-socket", "");
  o.no_pivot = a.has("no-pivot");
  o.preserve_fds = std::stoi(a.value_or("preserve-fds", "0"));
  return o;
}

const std::vector<FlagSpec> kCreateFlags = {
    {{"bundle", "b"}, true},        {{"pid-file"}, true},       {{"console-socket"}, true},
    {{"no-pivot"}, false},          {{"no-new-keyring"}, false}, {{"preserve-fds"}, true},
    {{"detach", "d"}, false},       {{"keep"}, false},           {{"no-subreaper"}, false},
};

int cmd_create(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, kCreateFlags);
  runtime::create_container(create_options(g, a, "create"));
  return 0;
}

int cmd_run(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, kCreateFlags);
  return runtime::run_container(create_options(g, a, "run"), a.has("detach"));
}

int cmd_start(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {});
  runtime::start_container(g.root, need_id(a, "start"));
  return 0;
}

const std::vector<FlagSpec> kExecFlags = {
    {{"env", "e"}, true},          {{"cwd"}, true},           {{"user", "u"}, true},
    {{"additional-gids", "g"}, true}, {{"detach", "d"}, false}, {{"pid-file"}, true},
    {{"process", "p"}, true},      {{"tty", "t"}, false},      {{"console-socket"}, true},
    {{"preserve-fds"}, true},      {{"cap", "c"}, true},       {{"no-new-privs"}, false},
    {{"apparmor"}, true},          {{"process-label"}, true},  {{"ignore-paused"}, false},
    {{"cgroup"}, true},            {{"help", "h"}, false},
};

uint32_t parse_id_number(const std::string& s, const char* what) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos ||
      std::stoull(s) > UINT32_MAX)
    throw Error(std::string("exec --user: invalid ") + what + " \"" + s + "\" (numeric UID[:GID] expected)");
  return static_cast<uint32_t>(std::stoul(s));
}

int cmd_exec(const Global& g, const std::vector<std::string>& argv) {
  // Flags end at the container id: what follows is the command and its own flags.
  Args a(argv, kExecFlags, true);
  if (a.has("help")) {
    std::fputs(kOciHelp, stdout);
    return 0;
  }
  if (a.has("tty") || !a.value_or("console-socket", "").empty())
    throw Error("exec --tty/--console-socket: a terminal is not supported by ecsa-runc exec");
  if (std::stoi(a.value_or("preserve-fds", "0")) != 0)
    throw Error("exec --preserve-fds: not supported by ecsa-runc exec");
  if (a.has("cap") || a.has("no-new-privs") || a.has("cgroup"))
    throw Error("exec --cap/--no-new-privs/--cgroup: not supported by ecsa-runc exec; the container's config applies");
  runtime::ExecOptions o;
  o.root = g.root;
  o.id = need_id(a, "exec");
  if (auto path = a.value("process")) {
    // As runc: the process file replaces the command line's process flags.
    json::Json doc = json::parse(fs::read_file(*path), *path);
    try {
      runtime::exec_options_from_process(json::Node(doc, ""), o);
    } catch (const Error&) {
      rethrow_with_context("exec --process " + *path);
    }
  } else {
    o.args.assign(a.positional().begin() + 1, a.positional().end());
    if (o.args.empty()) throw Error("exec: a command is required (ID COMMAND [ARG...] or --process)");
    if (a.has("env")) o.env = runtime::merge_env(runtime::container_process_env(g.root, o.id), a.values("env"));
    o.cwd = a.value_or("cwd", "");
    if (auto user = a.value("user")) {
      auto colon = user->find(':');
      o.uid = parse_id_number(user->substr(0, colon), "UID");
      o.gid = colon == std::string::npos ? 0 : parse_id_number(user->substr(colon + 1), "GID");
    }
    for (const auto& gid : a.values("additional-gids")) o.additional_gids.push_back(parse_id_number(gid, "GID"));
  }
  pid_t pid = runtime::exec_process(o);
  if (auto pid_file = a.value("pid-file")) {
    std::string path = *pid_file;
    if (path[0] != '/') {
      char cwd[4096];
      if (getcwd(cwd, sizeof cwd)) path = fs::join(cwd, path);
    }
    fs::write_file_atomic(path, std::to_string(pid), 0644, false);
  }
  if (a.has("detach")) return 0;
  return runtime::wait_forwarding_signals(pid);
}

int cmd_state(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {});
  std::printf("%s\n", runtime::container_state(g.root, need_id(a, "state")).dump(2).c_str());
  return 0;
}

int cmd_kill(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"all", "a"}, false}, {{"pid"}, true}});
  std::string id = need_id(a, "kill");
  int sig = a.positional().size() > 1 ? runtime::parse_signal(a.positional()[1]) : SIGTERM;
  runtime::kill_container(g.root, id, sig, a.has("all"));
  return 0;
}

int cmd_delete(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"force", "f"}, false}});
  runtime::delete_container(g.root, need_id(a, "delete"), a.has("force"));
  return 0;
}

int cmd_list(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"quiet", "q"}, false}, {{"format", "f"}, true}});
  auto list = runtime::list_containers(g.root);
  std::string format = a.value_or("format", "table");
  if (format == "json") {
    json::Json out = json::Json::array();
    for (const auto& c : list)
      out.push_back({{"ociVersion", runtime::kOciVersion},
                     {"id", c.state.id},
                     {"pid", c.status == runtime::Status::stopped ? 0 : c.state.pid},
                     {"status", runtime::status_name(c.status)},
                     {"bundle", c.state.bundle},
                     {"rootfs", c.state.rootfs},
                     {"created", c.state.created},
                     {"annotations", c.state.annotations},
                     {"owner", c.state.owner}});
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (format != "table") throw Error("list: invalid format \"" + format + "\" (table or json)");
  if (a.has("quiet")) {
    for (const auto& c : list) std::printf("%s\n", c.state.id.c_str());
    return 0;
  }
  std::printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  for (const auto& c : list)
    std::printf("%-20s %-8d %-10s %-40s %-31s %s\n", c.state.id.c_str(),
                c.status == runtime::Status::stopped ? 0 : c.state.pid, runtime::status_name(c.status),
                c.state.bundle.c_str(), c.state.created.c_str(), c.state.owner.c_str());
  return 0;
}

int cmd_ps(const Global& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"format", "f"}, true}});
  auto pids = runtime::container_pids(g.root, need_id(a, "ps"));
  std::string format = a.value_or("format", "table");
  if (format == "json") {
    std::printf("%s\n", json::Json(pids).dump().c_str());
    return 0;
  }
  std::printf("%-8s %s\n", "PID", "CMD");
  for (pid_t p : pids) {
    auto cmd = fs::read_file_if_exists("/proc/" + std::to_string(p) + "/cmdline");
    std::string c = cmd ? *cmd : "";
    for (auto& ch : c)
      if (ch == '\0') ch = ' ';
    std::printf("%-8d %s\n", p, c.c_str());
  }
  return 0;
}

int cmd_features(const std::vector<std::string>& argv) {
  Args a(argv, {});
  json::Json namespaces = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"};
  json::Json f = {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.2.0"},
      {"hooks", {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "iversion",
        "lazytime", "loud", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion",
        "nolazytime", "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind",
        "relatime", "remount", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw",
        "shared", "silent", "slave", "strictatime", "suid", "sync", "unbindable"}},
      {"linux",
       {{"namespaces", namespaces},
        {"capabilities", runtime::known_capabilities()},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}}},
        {"seccomp", runtime::seccomp_features()},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}},
        {"intelRdt", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", false}}}}}}},
      {"annotations", {{"org.opencontainers.runtime-spec.features.ecsa.version", ECSA_VERSION}}},
  };
  std::printf("%s\n", f.dump(2).c_str());
  return 0;
}

int oci_main(const std::vector<std::string>& argv) {
  // Global options come before the verb.
  size_t i = 0;
  Global g;
  std::string log_file, log_format = "text";
  bool debug = false;
  auto value = [&](const std::string& arg, const std::string& name) -> std::optional<std::string> {
    for (const std::string& prefix : {"--" + name, "-" + name}) {
      if (arg == prefix) {
        if (i + 1 >= argv.size()) throw Error("flag " + arg + " needs a value");
        return argv[++i];
      }
      if (arg.rfind(prefix + "=", 0) == 0) return arg.substr(prefix.size() + 1);
    }
    return std::nullopt;
  };
  try {
    for (; i < argv.size(); ++i) {
      const std::string& arg = argv[i];
      if (arg.empty() || arg[0] != '-') break;
      if (arg == "--help" || arg == "-h") {
        std::fputs(kOciHelp, stdout);
        return 0;
      }
      if (arg == "--version" || arg == "-v") {
        std::printf("ecsa-runc version %s\ncommit: %s\nspec: %s\n", ECSA_VERSION, ECSA_COMMIT,
                    runtime::kOciVersion);
        return 0;
      }
      if (arg == "--debug") {
        debug = true;
      } else if (arg == "--systemd-cgroup") {
        throw Error("--systemd-cgroup: the systemd cgroup driver is not supported by ecsa; use cgroupfs");
      } else if (auto v = value(arg, "root")) {
        g.root = *v;
      } else if (auto v = value(arg, "log")) {
        log_file = *v;
      } else if (auto v = value(arg, "log-format")) {
        if (*v != "text" && *v != "json") throw Error("--log-format: expected text or json, got \"" + *v + "\"");
        log_format = *v;
      } else if (auto v = value(arg, "criu")) {
        (void)v;  // accepted for compatibility; checkpoint is not supported
      } else if (auto v = value(arg, "rootless")) {
        (void)v;
      } else {
        throw Error("unknown global flag " + arg + " (see --help)");
      }
    }
    log::configure(log_file, log_format == "json", debug);
  } catch (const std::exception& e) {
    return usage_error(e.what());
  }
  if (i >= argv.size()) {
    std::fputs(kOciHelp, stderr);
    return 1;
  }
  std::string verb = argv[i];
  std::vector<std::string> rest(argv.begin() + static_cast<long>(i) + 1, argv.end());
  for (const auto& r : rest)
    if ((r == "--help" || r == "-h") && verb != "exec") {
      std::fputs(kOciHelp, stdout);
      return 0;
    }
  try {
    if (verb == "spec") return cmd_spec(rest);
    if (verb == "create") return cmd_create(g, rest);
    if (verb == "start") return cmd_start(g, rest);
    if (verb == "run") return cmd_run(g, rest);
    if (verb == "state") return cmd_state(g, rest);
    if (verb == "kill") return cmd_kill(g, rest);
    if (verb == "delete") return cmd_delete(g, rest);
    if (verb == "list") return cmd_list(g, rest);
    if (verb == "ps") return cmd_ps(g, rest);
    if (verb == "features") return cmd_features(rest);
    if (verb == "exec") return cmd_exec(g, rest);
    if (verb == "pause" || verb == "resume" || verb == "update" ||
        verb == "events" || verb == "checkpoint" || verb == "restore")
      throw Error(verb + ": not supported by ecsa-runc");
    throw Error("unknown command \"" + verb + "\" (see --help)");
  } catch (const std::exception& e) {
    // containerd reads the last error from the --log file; people read stderr.
    if (!log_file.empty()) log::error(e.what());
    std::fprintf(stderr, "ecsa-run: %s\n", e.what());
    return 1;
  }
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("oci", "oci [GLOBAL OPTIONS] VERB [ARGS...]",
             "runc-compatible OCI runtime (create, start, state, kill, delete, run, exec, ...)",
             ecsa::cli::oci_main);
