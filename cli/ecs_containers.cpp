// Docker-like verbs for people on a factory box: run IMAGE, ps, stop, rm, logs, port, inspect.
// Each container is a one-container plan launched like a task's container (ecs/container_launch).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <random>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "ecs/capabilities.hpp"
#include "ecs/container_launch.hpp"
#include "ecs/task_runner.hpp"
#include "net/network.hpp"
#include "oci/progress.hpp"
#include "runtime/container.hpp"

namespace ecsa::cli {
namespace {

const char* kRunUsage =
    "Usage: ecsa-run run [OPTIONS] IMAGE [ARG...]\n\n"
    "Pulls IMAGE when it is not in the store, then runs it. In the foreground the exit status\n"
    "is the container's (128+signal when killed); -d prints the container id.\n\n"
    "Options:\n"
    "  --name NAME            container name, also its id (default: random)\n"
    "  -d, --detach           run in the background; output goes to `ecsa-run logs`\n"
    "  --rm                   remove the container when it exits\n"
    "  -e, --env K=V          environment variable (repeatable)\n"
    "  -w, --workdir DIR      working directory\n"
    "  -u, --user USER        user[:group] by name or id\n"
    "  --entrypoint CMD       replace the image's entrypoint (drops the image's Cmd)\n"
    "  -m, --memory SIZE      memory limit, e.g. 128m\n"
    "  --memory-reservation SIZE\n"
    "  --cpus N               CPU quota, e.g. 0.5\n"
    "  --cpu-shares N         relative CPU weight\n"
    "  --read-only            read-only root filesystem\n"
    "  -p, --publish SPEC     [hostIP:][hostPort:]containerPort[/tcp|/udp]; hostPort 0 or absent:\n"
    "                         a dynamic host port (ECS_DYNAMIC_HOST_PORT_RANGE)\n"
    "  --network MODE         bridge (default), host, none, or container:ID (share that\n"
    "                         container's network namespace, /etc/hosts and resolv.conf)\n"
    "  -h, --hostname NAME\n"
    "  --dns IP, --dns-search DOMAIN, --add-host NAME:IP\n"
    "  --cap-add CAP, --cap-drop CAP, --privileged\n"
    "  --pull missing|always  (default missing)\n"
    "  --root DIR             runtime state directory (default /run/ecsa)\n";

int64_t parse_size(const std::string& flag, const std::string& s) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    throw Error(flag + ": invalid size \"" + s + "\"");
  }
  std::string unit = s.substr(pos);
  for (auto& c : unit) c = static_cast<char>(tolower(c));
  if (!unit.empty() && unit.back() == 'b' && unit.size() > 1) unit.pop_back();
  double mult = unit.empty() || unit == "b" ? 1 : unit == "k" ? 1024.0 : unit == "m" ? 1048576.0
              : unit == "g" ? 1073741824.0 : -1;
  if (mult < 0 || v < 0) throw Error(flag + ": invalid size \"" + s + "\" (use b, k, m or g)");
  return static_cast<int64_t>(v * mult);
}

std::string random_id() {
  std::random_device rd;
  char buf[13];
  snprintf(buf, sizeof buf, "%06x%06x", rd() & 0xffffff, rd() & 0xffffff);
  return buf;
}

ecs::PortMapping to_plan_port(const net::PortMapping& m) {
  ecs::PortMapping p;
  p.container_port = m.container_port;
  p.container_port_end = m.container_port_end ? m.container_port_end : m.container_port;
  if (m.host_port) p.host_port = m.host_port;
  p.protocol = m.protocol;
  return p;
}

int cmd_run(const std::vector<std::string>& argv) {
  for (const auto& a : argv) {
    if (a == "--help") {
      std::fputs(kRunUsage, stdout);
      return 0;
    }
    if (!a.empty() && a[0] != '-') break;
  }
  Args a(argv,
         {{{"name"}, true},       {{"detach", "d"}, false},    {{"rm"}, false},
          {{"env", "e"}, true},   {{"workdir", "w"}, true},    {{"user", "u"}, true},
          {{"entrypoint"}, true}, {{"memory", "m"}, true},     {{"memory-reservation"}, true},
          {{"cpus"}, true},       {{"cpu-shares"}, true},      {{"read-only"}, false},
          {{"publish", "p"}, true}, {{"network", "net"}, true}, {{"hostname", "h"}, true},
          {{"dns"}, true},        {{"dns-search"}, true},      {{"add-host"}, true},
          {{"cap-add"}, true},    {{"cap-drop"}, true},        {{"privileged"}, false},
          {{"pull"}, true},       {{"root"}, true},            {{"progress"}, true}},
         true);
  if (a.positional().empty()) throw Error("run: an image is required (see --help)");
  ecs::ContainerPlan plan;
  plan.image = a.positional()[0];
  std::string id = a.value_or("name", random_id());
  runtime::validate_id(id);
  plan.name = id;
  if (auto e = a.value("entrypoint")) plan.entry_point = std::vector<std::string>{*e};
  if (a.positional().size() > 1)
    plan.command = std::vector<std::string>(a.positional().begin() + 1, a.positional().end());
  for (const auto& kv : a.values("env")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) {
      const char* v = getenv(kv.c_str());  // -e NAME takes the caller's value, as docker does
      if (v) ecs::env_set(plan.env, kv, v);
    } else {
      ecs::env_set(plan.env, kv.substr(0, eq), kv.substr(eq + 1));
    }
  }
  plan.working_dir = a.value_or("workdir", "");
  plan.user = a.value_or("user", "");
  if (auto m = a.value("memory")) plan.memory_bytes = parse_size("--memory", *m);
  if (auto m = a.value("memory-reservation")) plan.memory_reservation_bytes = parse_size("--memory-reservation", *m);
  plan.cpu_shares = 0;
  if (auto s = a.value("cpu-shares")) plan.cpu_shares = std::stoull(*s);
  plan.readonly_rootfs = a.has("read-only");
  plan.privileged = a.has("privileged");
  for (const auto& [flag, list] : {std::pair{"cap-add", &plan.cap_add}, std::pair{"cap-drop", &plan.cap_drop}})
    for (const auto& c : a.values(flag)) {
      auto n = ecs::normalize_capability(c);
      if (!n) throw Error(std::string("--") + flag + ": unknown capability \"" + c + "\"");
      list->push_back(*n);
    }
  plan.capabilities = ecs::effective_capabilities(plan.cap_add, plan.cap_drop, plan.privileged);
  plan.hostname = a.value_or("hostname", "");
  plan.dns_servers = a.values("dns");
  plan.dns_search_domains = a.values("dns-search");
  for (const auto& h : a.values("add-host")) {
    auto c = h.find(':');
    if (c == std::string::npos) throw Error("--add-host: expected NAME:IP, got \"" + h + "\"");
    plan.extra_hosts.push_back({h.substr(0, c), h.substr(c + 1)});
  }
  for (const auto& spec : a.values("publish"))
    for (const auto& m : net::parse_port_spec(spec)) plan.ports.push_back(to_plan_port(m));

  ecs::LaunchOptions lo;
  lo.id = id;
  lo.runtime_root = a.value_or("root", runtime::kDefaultRoot);
  std::string network = a.value_or("network", "bridge");
  if (network == "bridge") lo.network_mode = ecs::NetworkMode::bridge;
  else if (network == "host") lo.network_mode = ecs::NetworkMode::host;
  else if (network == "none") lo.network_mode = ecs::NetworkMode::none;
  else if (network.rfind("container:", 0) == 0 && network.size() > 10) {
    lo.network_mode = ecs::NetworkMode::none;
    lo.network_container = network.substr(10);
    if (!plan.ports.empty()) throw Error("-p: ports cannot be published with --network " + network);
  } else
    throw Error("--network: expected bridge, host, none or container:ID, got \"" + network + "\"");
  if (auto c = a.value("cpus")) {
    double cpus = std::stod(*c);
    if (cpus <= 0) throw Error("--cpus: must be greater than 0");
    lo.cpu_quota_us = static_cast<int64_t>(cpus * 100000);
  }
  std::string pull = a.value_or("pull", "missing");
  if (pull != "missing" && pull != "always") throw Error("--pull: expected missing or always");

  auto store = oci::ImageStore::open();
  auto progress = oci::Progress::create(oci::parse_progress_mode(a.value_or("progress", "auto")), stderr);
  auto image = ecs::ensure_image(*store, plan.image,
                                 pull == "always" ? ecs::ImagePullBehavior::always
                                                  : ecs::ImagePullBehavior::prefer_cached,
                                 progress.get());
  bool detach = a.has("detach");
  UniqueFd log_fd, null_fd;
  if (detach) {
    std::string files = ecs::container_files_dir(*store, id);
    fs::mkdir_p(files, 0700);
    std::string log = files + "/container.log";
    log_fd.reset(open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!log_fd) throw_errno("open " + log);
    null_fd.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    lo.stdio[0] = null_fd.get();
    lo.stdio[1] = lo.stdio[2] = log_fd.get();
  }
  auto launched = ecs::create_from_plan(*store, image, plan, lo);
  try {
    runtime::start_container(lo.runtime_root, id);
  } catch (...) {
    ecs::remove_launched(*store, lo.runtime_root, id);
    throw;
  }
  if (detach) {
    std::printf("%s\n", id.c_str());
    return 0;
  }
  int code = runtime::wait_forwarding_signals(launched.pid);
  if (a.has("rm")) ecs::remove_launched(*store, lo.runtime_root, id);
  return code;
}

struct Found {
  runtime::ContainerState state;
  runtime::Status status;
};

std::vector<Found> image_containers(const std::string& root) {
  std::vector<Found> out;
  for (const auto& c : runtime::list_containers(root))
    if (c.state.annotations.count(ecs::kImageAnnotation)) out.push_back({c.state, c.status});
  return out;
}

Found find_container(const std::string& root, const std::string& id) {
  for (auto& f : image_containers(root))
    if (f.state.id == id) return f;
  throw Error("no such container: " + id);
}

std::string ports_text(const runtime::ContainerState& s) {
  std::string out;
  if (!s.extra.contains("networkBindings")) return out;
  for (const auto& b : s.extra["networkBindings"]) {
    if (!out.empty()) out += ", ";
    std::string host = b.contains("hostPortRange") ? b["hostPortRange"].get<std::string>()
                                                   : std::to_string(b.value("hostPort", 0));
    std::string cont = b.contains("containerPortRange") ? b["containerPortRange"].get<std::string>()
                                                        : std::to_string(b.value("containerPort", 0));
    out += b.value("bindIP", "0.0.0.0") + ":" + host + "->" + cont + "/" + b.value("protocol", "tcp");
  }
  return out;
}

int cmd_ps(const std::vector<std::string>& argv) {
  Args a(argv, {{{"all", "a"}, false}, {{"format"}, true}, {{"quiet", "q"}, false}, {{"root"}, true}});
  auto list = image_containers(a.value_or("root", runtime::kDefaultRoot));
  bool all = a.has("all");
  if (a.value_or("format", "table") == "json") {
    json::Json out = json::Json::array();
    for (const auto& f : list) {
      if (!all && f.status == runtime::Status::stopped) continue;
      out.push_back({{"id", f.state.id},
                     {"image", f.state.annotations.at(ecs::kImageAnnotation)},
                     {"status", runtime::status_name(f.status)},
                     {"pid", f.status == runtime::Status::stopped ? 0 : f.state.pid},
                     {"created", f.state.created},
                     {"networkBindings", f.state.extra.value("networkBindings", json::Json::array())}});
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  if (!a.has("quiet"))
    std::printf("%-20s %-40s %-10s %s\n", "CONTAINER ID", "IMAGE", "STATUS", "PORTS");
  for (const auto& f : list) {
    if (!all && f.status == runtime::Status::stopped) continue;
    if (a.has("quiet")) {
      std::printf("%s\n", f.state.id.c_str());
      continue;
    }
    std::printf("%-20s %-40s %-10s %s\n", f.state.id.c_str(),
                f.state.annotations.at(ecs::kImageAnnotation).c_str(), runtime::status_name(f.status),
                ports_text(f.state).c_str());
  }
  return 0;
}

int cmd_stop(const std::vector<std::string>& argv) {
  Args a(argv, {{{"time", "t"}, true}, {{"root"}, true}});
  std::string root = a.value_or("root", runtime::kDefaultRoot);
  int timeout = std::stoi(a.value_or("time", "10"));
  if (a.positional().empty()) throw Error("stop: a container id is required");
  for (const auto& id : a.positional()) {
    auto f = find_container(root, id);
    if (f.status == runtime::Status::stopped) continue;
    // The image's StopSignal first, as Docker.
    int sig = SIGTERM;
    if (auto a = f.state.annotations.find(ecs::kStopSignalAnnotation); a != f.state.annotations.end())
      sig = runtime::parse_signal(a->second);
    runtime::kill_container(root, id, sig, false);
    for (int i = 0; i < timeout * 20; ++i) {
      if (find_container(root, id).status == runtime::Status::stopped) break;
      usleep(50000);
    }
    if (find_container(root, id).status != runtime::Status::stopped)
      runtime::kill_container(root, id, SIGKILL, true);
    std::printf("%s\n", id.c_str());
  }
  return 0;
}

int cmd_rm(const std::vector<std::string>& argv) {
  Args a(argv, {{{"force", "f"}, false}, {{"root"}, true}});
  std::string root = a.value_or("root", runtime::kDefaultRoot);
  if (a.positional().empty()) throw Error("rm: a container id is required");
  auto store = oci::ImageStore::open();
  for (const auto& id : a.positional()) {
    auto f = find_container(root, id);
    if (f.status != runtime::Status::stopped && !a.has("force"))
      throw Error("rm " + id + ": the container is " + runtime::status_name(f.status) +
                  "; stop it first or use --force");
    ecs::remove_launched(*store, root, id);
    std::printf("%s\n", id.c_str());
  }
  return 0;
}

int cmd_logs(const std::vector<std::string>& argv) {
  Args a(argv, {{{"root"}, true}});
  if (a.positional().empty()) throw Error("logs: a container id is required");
  std::string id = a.positional()[0];
  find_container(a.value_or("root", runtime::kDefaultRoot), id);
  auto store = oci::ImageStore::open();
  auto text = fs::read_file_if_exists(ecs::container_files_dir(*store, id) + "/container.log");
  if (text) fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

int cmd_port(const std::vector<std::string>& argv) {
  Args a(argv, {{{"root"}, true}, {{"format"}, true}});
  if (a.positional().empty()) throw Error("port: a container id is required");
  auto f = find_container(a.value_or("root", runtime::kDefaultRoot), a.positional()[0]);
  json::Json b = f.state.extra.value("networkBindings", json::Json::array());
  if (a.value_or("format", "") == "json") {
    std::printf("%s\n", b.dump().c_str());
    return 0;
  }
  for (const auto& x : b) {
    std::string cont = x.contains("containerPortRange") ? x["containerPortRange"].get<std::string>()
                                                        : std::to_string(x.value("containerPort", 0));
    std::string host = x.contains("hostPortRange") ? x["hostPortRange"].get<std::string>()
                                                   : std::to_string(x.value("hostPort", 0));
    std::printf("%s/%s -> %s:%s\n", cont.c_str(), x.value("protocol", "tcp").c_str(),
                x.value("bindIP", "0.0.0.0").c_str(), host.c_str());
  }
  return 0;
}

int cmd_inspect(const std::vector<std::string>& argv) {
  Args a(argv, {{{"root"}, true}});
  if (a.positional().empty()) throw Error("inspect: a container id is required");
  std::string root = a.value_or("root", runtime::kDefaultRoot);
  json::Json out = json::Json::array();
  for (const auto& id : a.positional()) {
    auto f = find_container(root, id);
    json::Json j = runtime::container_state(root, id);
    j["image"] = f.state.annotations.at(ecs::kImageAnnotation);
    j["created"] = f.state.created;
    j["networkBindings"] = f.state.extra.value("networkBindings", json::Json::array());
    if (f.state.extra.contains("ipAddress")) j["ipAddress"] = f.state.extra["ipAddress"];
    out.push_back(j);
  }
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int cmd_gc(const std::vector<std::string>& argv) {
  Args a(argv, {{{"root"}, true}});
  std::string root = a.value_or("root", runtime::kDefaultRoot);
  // A container exists while the runtime has its state (stopped ones keep their network
  // until `rm`, as with Docker); everything else of ours is a leftover of a crash.
  // Tasks whose supervisor died: their containers are stopped and removed first.
  for (const auto& id : ecs::gc_tasks("", root)) std::printf("stopped task %s (its supervisor had exited)\n", id.c_str());
  auto live_task_containers = ecs::task_runtime_ids("");
  std::set<std::string> in_tasks(live_task_containers.begin(), live_task_containers.end());
  net::gc_network([&](const std::string& id) { return runtime::StateDir(root, id).exists() || in_tasks.count(id); });
  auto store = oci::ImageStore::open();
  std::string launched = fs::join(store->root(), "launched");
  for (const auto& id : fs::list_dir(launched)) {
    if (runtime::StateDir(root, id).exists() || in_tasks.count(id)) continue;
    ecs::remove_launched(*store, root, id);
    std::printf("removed leftovers of %s\n", id.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("run", "run [OPTIONS] IMAGE [ARG...]", "run a container from an image (pulled when missing)",
             ecsa::cli::cmd_run);
ECSA_COMMAND("ps", "ps [-a] [-q] [--format table|json]", "list containers started from images",
             ecsa::cli::cmd_ps);
ECSA_COMMAND("stop", "stop [-t SECONDS] ID...", "stop containers: SIGTERM, then SIGKILL after the timeout",
             ecsa::cli::cmd_stop);
ECSA_COMMAND("rm", "rm [-f] ID...", "remove containers with their network, rootfs and logs",
             ecsa::cli::cmd_rm);
ECSA_COMMAND("logs", "logs ID", "output of a detached container", ecsa::cli::cmd_logs);
ECSA_COMMAND("port", "port [--format json] ID", "published ports of a container (ECS networkBindings)",
             ecsa::cli::cmd_port);
ECSA_COMMAND("gc", "gc [--root DIR]",
             "remove network, rootfs and files of containers that no longer exist (after a crash)",
             ecsa::cli::cmd_gc);
ECSA_COMMAND("inspect", "inspect ID...", "state, image and network bindings as JSON",
             ecsa::cli::cmd_inspect);
