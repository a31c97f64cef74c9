#include "ecs/container_definition.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "ecs/capabilities.hpp"
#include "ecs/env_file.hpp"
#include "ecs/json_fields.hpp"
#include "ecs/json_file_log.hpp"

namespace ecsa::ecs {

using json::Node;

namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr uint64_t kMinCpuShares = 2;
constexpr uint64_t kMaxCpuShares = 262144;
constexpr int64_t kMinContainerMemoryMiB = 4;  // agent: DockerContainerMinimumMemoryInBytes
constexpr const char* kExternal = "is not supported on ECS Anywhere (EXTERNAL instances)";

std::string qstr(const std::string& s) { return json::describe(json::Json(s)); }

bool valid_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

std::string absolute_path(const Node& n) {
  std::string p = n.str();
  if (p.empty() || p[0] != '/') n.fail("expected an absolute path, got " + qstr(p));
  return p;
}

// A mount destination without trailing slashes ("/ecs/" and "/ecs" are the same place).
std::string mount_path(const Node& n) {
  std::string p = absolute_path(n);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// ECS container names: up to 255 letters, digits, hyphens and underscores.
std::string container_name(const Node& n) {
  std::string name = n.str();
  bool ok = !name.empty() && name.size() <= 255 &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
            });
  if (!ok)
    n.fail("expected a name of up to 255 letters, digits, hyphens and underscores, got " +
           qstr(name));
  return name;
}

void parse_port_mappings(const Node& list, ContainerPlan& c, const TaskContext& ctx,
                         ContainerRefs& refs) {
  auto items = list.items();
  if (!items.empty() && ctx.network_mode == NetworkMode::none)
    list.fail("portMappings cannot be used with networkMode none");
  for (const auto& item : items) {
    Fields f(item, *ctx.warnings);
    PortMapping pm;
    auto range = f.opt("containerPortRange");
    auto cport = f.opt("containerPort");
    auto hport = f.opt("hostPort");
    f.ignore({"hostPortRange"});  // describe output: what ECS assigned
    if (range) {
      if (cport || hport)
        range->fail("containerPortRange cannot be used together with containerPort or hostPort");
      if (ctx.network_mode != NetworkMode::bridge)
        range->fail("containerPortRange needs networkMode bridge");
      std::string r = range->str();
      unsigned a = 0, b = 0;
      char extra = 0;
      if (std::sscanf(r.c_str(), "%u-%u%c", &a, &b, &extra) != 2 || a < 1 || b > 65535 || a >= b)
        range->fail("expected a port range like \"8000-8010\", got " + qstr(r));
      pm.container_port = static_cast<uint16_t>(a);
      pm.container_port_end = static_cast<uint16_t>(b);
    } else {
      if (!cport) f.at("containerPort");  // throws "…containerPort: required field is missing"
      pm.container_port = static_cast<uint16_t>(cport->int_in(1, 65535));
      pm.container_port_end = pm.container_port;
      int64_t hp = hport ? hport->int_in(0, 65535) : 0;
      if (ctx.network_mode == NetworkMode::host) {
        if (hp != 0 && hp != pm.container_port)
          hport->fail("with networkMode host, hostPort must equal containerPort (" +
                      std::to_string(pm.container_port) + "), got " + std::to_string(hp));
        pm.host_port = pm.container_port;
      } else if (hp != 0) {
        pm.host_port = static_cast<uint16_t>(hp);
      }
    }
    if (auto p = f.opt("protocol")) {
      pm.protocol = p->str();
      if (pm.protocol != "tcp" && pm.protocol != "udp")
        p->fail("expected \"tcp\" or \"udp\", got " + qstr(pm.protocol));
    }
    if (auto n = f.opt("name")) pm.name = n->str();
    if (auto ap = f.opt("appProtocol")) {
      ap->str();
      add_warning(*ctx.warnings, ap->path() + ": used only by Service Connect, ignored");
    }
    c.ports.push_back(pm);
    refs.ports.push_back(item.path());
  }
}

void parse_environment(Fields& f, ContainerPlan& c, const TaskContext& ctx) {
  // Environment files first: earlier files win over later ones, and the task
  // definition's environment wins over all files.
  if (auto files = f.opt("environmentFiles")) {
    auto items = files->items();
    if (items.size() > 10) files->fail("at most 10 environment files, got " + std::to_string(items.size()));
    for (const auto& item : items) {
      Fields ff(item, *ctx.warnings);
      auto value = ff.at("value");
      if (auto t = ff.opt("type"); t && t->str() != "s3")
        t->fail("expected \"s3\", got " + qstr(t->str()));
      std::string v = value.str();
      if (v.rfind("arn:", 0) == 0)
        value.fail("environment files in S3 are not supported by ecsa yet; give a local file path");
      std::string path = v.empty() || v[0] == '/' ? v : fs::join(ctx.base_dir, v);
      std::string text;
      try {
        text = fs::read_file(path);
      } catch (const std::exception&) {
        rethrow_with_context(value.path());
      }
      for (const auto& [k, val] : parse_env_file(text, path, *ctx.warnings))
        env_set_default(c.env, k, val);
    }
  }
  if (auto env = f.opt("environment")) {
    std::set<std::string> seen;
    for (const auto& item : env->items()) {
      Fields ef(item, *ctx.warnings);
      auto name_node = ef.at("name");
      std::string name = name_node.str();
      if (name.empty() || name.find('=') != std::string::npos)
        name_node.fail("expected a variable name without '=', got " + qstr(name));
      std::string value;
      if (auto v = ef.opt("value")) value = v->str();
      if (!seen.insert(name).second)
        add_warning(*ctx.warnings, name_node.path() + ": " + name + " is set twice, the last one wins");
      env_set(c.env, name, value);
    }
  }
  if (ctx.extra_env)
    for (const auto& [k, v] : *ctx.extra_env) env_set(c.env, k, v);
}

HealthCheck parse_health_check(const Node& n, std::vector<std::string>& warnings) {
  Fields f(n, warnings);
  HealthCheck h;
  auto cmd = f.at("command");
  h.test = cmd.strings();
  if (h.test.empty() || (h.test[0] != "CMD" && h.test[0] != "CMD-SHELL"))
    cmd.fail("expected [\"CMD\", args...] or [\"CMD-SHELL\", \"command\"]");
  if (h.test.size() < 2) cmd.fail("expected a command after " + qstr(h.test[0]));
  if (auto v = f.opt("interval")) h.interval_s = static_cast<int>(v->int_in(5, 300));
  if (auto v = f.opt("timeout")) h.timeout_s = static_cast<int>(v->int_in(2, 60));
  if (auto v = f.opt("retries")) h.retries = static_cast<int>(v->int_in(1, 10));
  if (auto v = f.opt("startPeriod")) h.start_period_s = static_cast<int>(v->int_in(0, 300));
  return h;
}

const std::set<std::string>& tmpfs_mount_options() {
  static const std::set<std::string> opts = {
      "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync",
      "async", "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime",
      "nodiratime", "bind", "rbind", "unbindable", "runbindable", "private", "rprivate",
      "shared", "rshared", "slave", "rslave", "relatime", "norelatime", "strictatime",
      "nostrictatime", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"};
  return opts;
}

void parse_capability_list(const Node& list, std::vector<std::string>& out) {
  for (const auto& item : list.items()) {
    std::string name = item.str();
    auto cap = normalize_capability(name);
    if (!cap) item.fail("unknown capability " + qstr(name));
    out.push_back(*cap);
  }
}

void parse_linux_parameters(const Node& n, ContainerPlan& c, std::optional<int64_t>& max_swap_mib,
                            std::optional<Node>& swappiness_node, const TaskContext& ctx) {
  Fields f(n, *ctx.warnings);
  if (auto caps = f.opt("capabilities")) {
    Fields cf(*caps, *ctx.warnings);
    if (auto add = cf.opt("add")) parse_capability_list(*add, c.cap_add);
    if (auto drop = cf.opt("drop")) parse_capability_list(*drop, c.cap_drop);
  }
  if (auto devs = f.opt("devices")) {
    for (const auto& item : devs->items()) {
      Fields df(item, *ctx.warnings);
      Device d;
      d.host_path = absolute_path(df.at("hostPath"));
      d.container_path = d.host_path;
      if (auto cp = df.opt("containerPath")) d.container_path = absolute_path(*cp);
      if (auto perms = df.opt("permissions")) {
        bool r = false, w = false, m = false;
        for (const auto& p : perms->items()) {
          std::string s = p.str();
          if (s == "read") r = true;
          else if (s == "write") w = true;
          else if (s == "mknod") m = true;
          else p.fail("expected \"read\", \"write\" or \"mknod\", got " + qstr(s));
        }
        d.permissions = std::string(r ? "r" : "") + (w ? "w" : "") + (m ? "m" : "");
      }
      c.devices.push_back(d);
    }
  }
  if (auto v = f.opt("initProcessEnabled")) c.init_process = v->boolean();
  if (auto v = f.opt("sharedMemorySize")) c.shm_size_bytes = v->int_in(1, 1 << 30) * kMiB;
  if (auto v = f.opt("maxSwap")) max_swap_mib = v->int_in(0, INT32_MAX);
  if (auto v = f.opt("swappiness")) {
    v->int_in(0, 100);
    swappiness_node = *v;
  }
  if (auto list = f.opt("tmpfs")) {
    for (const auto& item : list->items()) {
      Fields tf(item, *ctx.warnings);
      TmpfsMount t;
      t.container_path = mount_path(tf.at("containerPath"));
      t.size_bytes = tf.at("size").int_in(1, INT32_MAX) * kMiB;
      if (auto opts = tf.opt("mountOptions")) {
        for (const auto& o : opts->items()) {
          std::string s = o.str();
          std::string key = s.substr(0, s.find('='));
          if (!tmpfs_mount_options().count(key)) o.fail("unknown tmpfs mount option " + qstr(s));
          t.options.push_back(s);
        }
      }
      c.tmpfs.push_back(t);
    }
  }
}

const std::map<std::string, std::string>& ulimit_names() {
  static const std::map<std::string, std::string> m = {
      {"core", "RLIMIT_CORE"},         {"cpu", "RLIMIT_CPU"},       {"data", "RLIMIT_DATA"},
      {"fsize", "RLIMIT_FSIZE"},       {"locks", "RLIMIT_LOCKS"},   {"memlock", "RLIMIT_MEMLOCK"},
      {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},     {"nofile", "RLIMIT_NOFILE"},
      {"nproc", "RLIMIT_NPROC"},       {"rss", "RLIMIT_RSS"},       {"rtprio", "RLIMIT_RTPRIO"},
      {"rttime", "RLIMIT_RTTIME"},     {"sigpending", "RLIMIT_SIGPENDING"},
      {"stack", "RLIMIT_STACK"}};
  return m;
}

void parse_ulimits(const Node& list, ContainerPlan& c, const TaskContext& ctx) {
  for (const auto& item : list.items()) {
    Fields f(item, *ctx.warnings);
    auto name_node = f.at("name");
    Ulimit u;
    u.name = name_node.str();
    auto it = ulimit_names().find(u.name);
    if (it == ulimit_names().end()) name_node.fail("unknown ulimit " + qstr(u.name));
    u.rlimit = it->second;
    for (const auto& other : c.ulimits)
      if (other.name == u.name) name_node.fail("ulimit " + qstr(u.name) + " is set twice");
    auto soft = f.at("softLimit");
    auto hard = f.at("hardLimit");
    u.soft = soft.i64();
    u.hard = hard.i64();
    if (u.soft < 0) soft.expected("a non-negative integer");
    if (u.hard < 0) hard.expected("a non-negative integer");
    if (u.soft > u.hard)
      soft.fail("softLimit " + std::to_string(u.soft) + " is above hardLimit " + std::to_string(u.hard));
    c.ulimits.push_back(u);
  }
}

// Sysctls Docker lets a container set: those of its own IPC or network namespace.
void parse_system_controls(const Node& list, ContainerPlan& c, const TaskContext& ctx) {
  static const std::set<std::string> ipc = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                            "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                            "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (const auto& item : list.items()) {
    Fields f(item, *ctx.warnings);
    auto ns = f.at("namespace");
    std::string key = ns.str();
    std::string value = f.at("value").str();
    bool is_ipc = ipc.count(key) || key.rfind("fs.mqueue.", 0) == 0;
    bool is_net = key.rfind("net.", 0) == 0;
    if (!is_ipc && !is_net)
      ns.fail(qstr(key) + " is not a namespaced sysctl (allowed: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm*)");
    if (is_net && ctx.network_mode == NetworkMode::host)
      ns.fail(qstr(key) + " cannot be set with networkMode host (it would change the host)");
    if (is_ipc && ctx.ipc_mode == "host")
      ns.fail(qstr(key) + " cannot be set with ipcMode host (it would change the host)");
    c.sysctls[key] = value;
  }
}

const std::set<std::string>& json_file_options() {
  static const std::set<std::string> o = {"max-size", "max-file", "compress", "labels",
                                          "labels-regex", "env", "env-regex", "tag"};
  return o;
}

LogConfig parse_log_configuration(const Node& n, const TaskContext& ctx) {
  Fields f(n, *ctx.warnings);
  LogConfig lc;
  auto driver = f.at("logDriver");
  lc.driver = driver.str();
  if (lc.driver != "json-file" && lc.driver != "none")
    driver.fail(qstr(lc.driver) +
                " is not supported by ecsa; supported log drivers: json-file, none (ship the "
                "json-file logs with fluent-bit or the CloudWatch agent tailing them)");
  if (auto secret = f.opt("secretOptions"); secret && !secret->items().empty())
    secret->fail("secretOptions are not used by the " + lc.driver + " log driver");
  if (auto opts = f.opt("options")) {
    for (const auto& [key, value] : opts->members()) {
      std::string v = value.str();
      if (lc.driver == "none")
        value.fail("the none log driver takes no options");
      if (!json_file_options().count(key))
        value.fail("unknown option for the json-file log driver (known: max-size, max-file, "
                   "compress, labels, labels-regex, env, env-regex, tag)");
      lc.options[key] = v;
      if (key == "max-size") {
        auto size = parse_log_size(v);
        if (!size || *size <= 0) value.fail("expected a size like \"10m\", got " + qstr(v));
        lc.max_size_bytes = *size;
      } else if (key == "max-file") {
        char* end = nullptr;
        long files = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != 0 || files < 1 || files > 1000)
          value.fail("expected a number of files from 1 to 1000, got " + qstr(v));
        lc.max_file = static_cast<int>(files);
      } else {
        add_warning(*ctx.warnings, value.path() + ": not implemented by ecsa's json-file writer, ignored");
      }
    }
  }
  return lc;
}

RestartPolicy parse_restart_policy(const Node& n, std::vector<std::string>& warnings) {
  Fields f(n, warnings);
  RestartPolicy rp;
  rp.enabled = f.at("enabled").boolean();
  if (auto codes = f.opt("ignoredExitCodes")) {
    auto items = codes->items();
    if (items.size() > 50) codes->fail("at most 50 exit codes, got " + std::to_string(items.size()));
    for (const auto& code : items) rp.ignored_exit_codes.push_back(static_cast<int>(code.int_in(0, 255)));
  }
  if (auto p = f.opt("restartAttemptPeriod")) rp.attempt_period_s = static_cast<int>(p->int_in(60, 1800));
  return rp;
}

void parse_security_options(const Node& list, ContainerPlan& c) {
  for (const auto& item : list.items()) {
    std::string s = item.str();
    if (s == "no-new-privileges" || s == "no-new-privileges:true") {
      c.no_new_privileges = true;
    } else if (s.rfind("apparmor:", 0) == 0 || s.rfind("apparmor=", 0) == 0) {
      c.apparmor_profile = s.substr(9);
    } else if (s.rfind("label:", 0) == 0 || s.rfind("label=", 0) == 0) {
      item.fail(std::string("SELinux labels ") + kExternal);
    } else if (s.rfind("credentialspec:", 0) == 0) {
      item.fail("credential specs are for Windows containers, not supported by ecsa");
    } else {
      item.fail("expected \"no-new-privileges\" or \"apparmor:PROFILE\", got " + qstr(s));
    }
  }
}

}  // namespace

ContainerPlan parse_container_definition(const Node& n, const TaskContext& ctx,
                                         ContainerRefs& refs) {
  auto& warnings = *ctx.warnings;
  Fields f(n, warnings);
  ContainerPlan c;
  refs.path = n.path();
  c.name = container_name(f.at("name"));
  auto image = f.at("image");
  c.image = image.str();
  if (c.image.empty()) image.fail("expected an image reference, got \"\"");
  c.stop_timeout_s = ctx.agent->stop_timeout_s;
  c.start_timeout_s = ctx.agent->start_timeout_s;

  // Features ECS Anywhere or ecsa cannot give: reject before anything else.
  f.reject("firelensConfiguration",
           "FireLens is not supported by ecsa; use the json-file log driver and run "
           "fluent-bit tailing the json-file logs");
  f.reject("credentialSpecs", "credential specs (gMSA) are not supported by ecsa");
  if (auto reqs = f.opt("resourceRequirements")) {
    for (const auto& item : reqs->items()) {
      Fields rf(item, warnings);
      auto type = rf.at("type");
      rf.at("value").str();
      std::string t = type.str();
      if (t == "InferenceAccelerator") type.fail(std::string("Elastic Inference accelerators ") + kExternal);
      if (t == "GPU") type.fail("GPUs are not supported by ecsa yet");
      type.fail("expected \"GPU\" or \"InferenceAccelerator\", got " + qstr(t));
    }
  }

  // CPU: the agent turns 0/absent/1 into 2 shares (Docker would make 0 into 1024).
  if (auto cpu = f.opt("cpu")) c.cpu_units = cpu->int_in(0, INT32_MAX);
  c.cpu_shares = std::clamp<uint64_t>(static_cast<uint64_t>(c.cpu_units), kMinCpuShares, kMaxCpuShares);

  // Memory in MiB; the cross-checks with the task memory are done by the task.
  std::optional<Node> memory_node, reservation_node;
  if (auto m = f.opt("memory")) {
    int64_t mib = m->int_in(0, INT32_MAX);
    if (mib > 0) {
      c.memory_bytes = std::max(mib, kMinContainerMemoryMiB) * kMiB;
      memory_node = m;
    }
  }
  if (auto m = f.opt("memoryReservation")) {
    int64_t mib = m->int_in(0, INT32_MAX);
    if (mib > 0) {
      c.memory_reservation_bytes = mib * kMiB;
      reservation_node = m;
    }
  }
  refs.has_memory = c.memory_bytes || c.memory_reservation_bytes;
  if (c.memory_bytes && c.memory_reservation_bytes && *c.memory_reservation_bytes >= *c.memory_bytes)
    reservation_node->fail("must be less than memory (" + std::to_string(*c.memory_bytes / kMiB) +
                           " MiB), got " + std::to_string(*c.memory_reservation_bytes / kMiB));

  if (auto e = f.opt("essential")) c.essential = e->boolean();
  if (auto ep = f.opt("entryPoint")) c.entry_point = ep->strings();
  if (auto cmd = f.opt("command")) c.command = cmd->strings();
  parse_environment(f, c, ctx);
  if (auto secrets = f.opt("secrets")) {
    for (const auto& item : secrets->items()) {
      Fields sf(item, warnings);
      c.secrets.push_back({sf.at("name").str(), sf.at("valueFrom").str()});
    }
  }
  if (auto wd = f.opt("workingDirectory")) c.working_dir = absolute_path(*wd);
  if (auto u = f.opt("user")) {
    c.user = u->str();
    auto colon = c.user.find(':');
    if (c.user.empty() || colon == 0 || colon + 1 == c.user.size() ||
        (colon != std::string::npos && c.user.find(':', colon + 1) != std::string::npos))
      u->fail("expected user, uid, user:group, uid:gid, user:gid or uid:group, got " + qstr(c.user));
  }

  if (auto pm = f.opt("portMappings")) parse_port_mappings(*pm, c, ctx, refs);

  if (auto mps = f.opt("mountPoints")) {
    for (const auto& item : mps->items()) {
      Fields mf(item, warnings);
      Mount m;
      m.volume = mf.at("sourceVolume").str();
      m.destination = mount_path(mf.at("containerPath"));
      if (auto ro = mf.opt("readOnly")) m.read_only = ro->boolean();
      for (const auto& other : c.mounts)
        if (other.destination == m.destination)
          item.fail("containerPath " + qstr(m.destination) + " is mounted twice");
      c.mounts.push_back(m);
      refs.mounts.push_back(item.path());
    }
  }
  if (auto vfs = f.opt("volumesFrom")) {
    for (const auto& item : vfs->items()) {
      Fields vf(item, warnings);
      VolumesFrom v;
      v.container = vf.at("sourceContainer").str();
      if (auto ro = vf.opt("readOnly")) v.read_only = ro->boolean();
      c.volumes_from.push_back(v);
      refs.volumes_from.push_back(item.path());
    }
  }
  if (auto links = f.opt("links")) {
    auto items = links->items();
    if (!items.empty() && ctx.network_mode != NetworkMode::bridge)
      links->fail("links need networkMode bridge");
    for (const auto& item : items) {
      std::string s = item.str();
      Link l;
      auto colon = s.find(':');
      l.container = s.substr(0, colon);
      l.alias = colon == std::string::npos ? l.container : s.substr(colon + 1);
      if (l.container.empty() || l.alias.empty() || l.alias.find(':') != std::string::npos)
        item.fail("expected \"name\" or \"name:alias\", got " + qstr(s));
      c.links.push_back(l);
      refs.links.push_back(item.path());
    }
  }
  if (auto v = f.opt("hostname")) c.hostname = v->str();
  if (auto v = f.opt("dnsServers")) {
    for (const auto& item : v->items()) {
      std::string ip = item.str();
      if (!valid_ip(ip)) item.fail("expected an IP address, got " + qstr(ip));
      c.dns_servers.push_back(ip);
    }
  }
  if (auto v = f.opt("dnsSearchDomains")) c.dns_search_domains = v->strings();
  if (auto v = f.opt("extraHosts")) {
    for (const auto& item : v->items()) {
      Fields hf(item, warnings);
      ExtraHost h;
      h.hostname = hf.at("hostname").str();
      auto ip = hf.at("ipAddress");
      h.ip = ip.str();
      if (!valid_ip(h.ip)) ip.fail("expected an IP address, got " + qstr(h.ip));
      c.extra_hosts.push_back(h);
    }
  }
  if (auto v = f.opt("disableNetworking")) c.disable_networking = v->boolean();

  if (auto v = f.opt("healthCheck")) c.health_check = parse_health_check(*v, warnings);
  if (auto deps = f.opt("dependsOn")) {
    for (const auto& item : deps->items()) {
      Fields df(item, warnings);
      Dependency d;
      d.container = df.at("containerName").str();
      auto cond = df.at("condition");
      std::string s = cond.str();
      if (s == "START") d.condition = DependencyCondition::start;
      else if (s == "COMPLETE") d.condition = DependencyCondition::complete;
      else if (s == "SUCCESS") d.condition = DependencyCondition::success;
      else if (s == "HEALTHY") d.condition = DependencyCondition::healthy;
      else cond.fail("expected START, COMPLETE, SUCCESS or HEALTHY, got " + qstr(s));
      c.depends_on.push_back(d);
      refs.depends_on.push_back(item.path());
    }
  }
  if (auto v = f.opt("startTimeout")) c.start_timeout_s = static_cast<int>(v->int_in(0, INT32_MAX));
  // stopTimeout 0 means "the agent's default", as in the agent.
  if (auto v = f.opt("stopTimeout"); v && v->int_in(0, INT32_MAX) > 0)
    c.stop_timeout_s = static_cast<int>(v->i64());
  if (auto v = f.opt("restartPolicy")) c.restart_policy = parse_restart_policy(*v, warnings);

  if (auto v = f.opt("privileged")) c.privileged = v->boolean();
  if (auto v = f.opt("readonlyRootFilesystem")) c.readonly_rootfs = v->boolean();
  if (auto v = f.opt("interactive")) c.interactive = v->boolean();
  if (auto v = f.opt("pseudoTerminal")) c.pseudo_terminal = v->boolean();
  if (auto v = f.opt("dockerSecurityOptions")) parse_security_options(*v, c);

  std::optional<int64_t> max_swap_mib;
  std::optional<Node> swappiness_node;
  if (auto v = f.opt("linuxParameters"))
    parse_linux_parameters(*v, c, max_swap_mib, swappiness_node, ctx);
  if (max_swap_mib) {
    // Docker: --memory-swap needs --memory. The swap limit counts memory + swap.
    if (!c.memory_bytes)
      n.fail("linuxParameters.maxSwap needs the container's memory (hard limit) to be set");
    c.memory_swap_bytes = *c.memory_bytes + *max_swap_mib * kMiB;
    c.swappiness = swappiness_node ? static_cast<int>(swappiness_node->i64()) : 60;
  } else if (swappiness_node) {
    add_warning(warnings, swappiness_node->path() + ": ignored without maxSwap");
  }
  c.capabilities = effective_capabilities(c.cap_add, c.cap_drop, c.privileged);

  if (auto v = f.opt("ulimits")) parse_ulimits(*v, c, ctx);
  if (auto v = f.opt("dockerLabels")) c.labels = v->string_map();
  if (auto v = f.opt("systemControls")) parse_system_controls(*v, c, ctx);
  if (auto v = f.opt("logConfiguration")) c.log = parse_log_configuration(*v, ctx);
  if (auto v = f.opt("repositoryCredentials")) {
    Fields rf(*v, warnings);
    c.repository_credentials = rf.at("credentialsParameter").str();
  }
  if (auto v = f.opt("versionConsistency")) {
    std::string s = v->str();
    if (s != "enabled" && s != "disabled") v->fail("expected \"enabled\" or \"disabled\", got " + qstr(s));
  }
  return c;
}

}  // namespace ecsa::ecs
