#include "ecs/task_definition.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "ecs/container_definition.hpp"
#include "ecs/dependency_order.hpp"
#include "ecs/json_fields.hpp"
#include "ecs/task_overrides.hpp"

namespace ecsa::ecs {

using json::Json;
using json::Node;

namespace {

// std::llround without libm: the only libm symbols of the binary would pull libm.so into
// every container start (--as-needed drops it when nothing uses it).
long long round_half_away(double x) {
  return static_cast<long long>(x + (x < 0 ? -0.5 : 0.5));
}

constexpr int64_t kMiB = 1024 * 1024;
constexpr uint64_t kMaxCpuShares = 262144;
constexpr int64_t kMinCpuQuotaUs = 1000;  // the kernel's minimum cfs_quota_us
constexpr const char* kExternal = "is not supported on ECS Anywhere (EXTERNAL instances)";

std::string qstr(const std::string& s) {
  return json::describe(Json(s));
}

std::string lower_trimmed(const std::string& s) {
  size_t a = s.find_first_not_of(" \t");
  size_t b = s.find_last_not_of(" \t");
  std::string out = a == std::string::npos ? "" : s.substr(a, b - a + 1);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "<number><suffix>" with optional spaces before the suffix; std::nullopt otherwise.
std::optional<double> number_with_suffix(const std::string& s, const std::string& suffix) {
  if (s.size() <= suffix.size() || s.compare(s.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  std::string num = lower_trimmed(s.substr(0, s.size() - suffix.size()));
  if (num.empty() || !std::all_of(num.begin(), num.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
      }))
    return std::nullopt;
  try {
    return std::stod(num);
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<int64_t> plain_integer(const std::string& s) {
  if (s.empty() || s.size() > 12 || !std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      }))
    return std::nullopt;
  return std::stoll(s);
}

Volume parse_volume(const Node& n, std::vector<std::string>& warnings) {
  Fields f(n, warnings);
  Volume v;
  auto name = f.at("name");
  v.name = name.str();
  if (v.name.empty()) name.fail("expected a volume name, got \"\"");
  f.reject("efsVolumeConfiguration", std::string("EFS volumes ") + kExternal);
  f.reject("fsxWindowsFileServerVolumeConfiguration",
           std::string("FSx for Windows File Server volumes ") + kExternal);
  if (auto v2 = f.opt("configuredAtLaunch"); v2 && v2->boolean())
    v2->fail(std::string("EBS volumes configured at launch ") + kExternal);
  auto host = f.opt("host");
  auto docker = f.opt("dockerVolumeConfiguration");
  if (host && docker) docker->fail("cannot be used together with host");
  if (host) {
    Fields hf(*host, warnings);
    if (auto sp = hf.opt("sourcePath")) {
      v.host_path = sp->str();
      if (v.host_path.empty() || v.host_path[0] != '/')
        sp->fail("expected an absolute path, got " + qstr(v.host_path));
      v.kind = Volume::Kind::host;
    }
  }
  if (docker) {
    Fields df(*docker, warnings);
    v.kind = Volume::Kind::docker;
    if (auto s = df.opt("scope")) {
      v.scope = s->str();
      if (v.scope != "task" && v.scope != "shared")
        s->fail("expected \"task\" or \"shared\", got " + qstr(v.scope));
    }
    if (auto a = df.opt("autoprovision")) {
      v.autoprovision = a->boolean();
      if (v.autoprovision && v.scope != "shared")
        add_warning(warnings, a->path() + ": only used with scope shared, ignored");
    }
    if (auto d = df.opt("driver")) {
      v.driver = d->str();
      if (v.driver != "local")
        d->fail("volume driver " + qstr(v.driver) + " is not supported by ecsa; supported: local");
    }
    if (auto o = df.opt("driverOpts")) {
      for (const auto& [key, value] : o->members()) {
        if (key != "type" && key != "device" && key != "o")
          value.fail("unknown option of the local volume driver (known: type, device, o)");
        v.driver_opts[key] = value.str();
      }
    }
    if (auto l = df.opt("labels")) v.labels = l->string_map();
  }
  return v;
}

// Cross-container checks (names exist, conditions allowed) and the start order.
void check_references(TaskPlan& plan, const std::vector<ContainerRefs>& refs) {
  auto& cs = plan.containers;
  auto index_of = [&](const std::string& name) -> std::optional<size_t> {
    for (size_t i = 0; i < cs.size(); ++i)
      if (cs[i].name == name) return i;
    return std::nullopt;
  };
  auto lookup = [&](size_t self, const std::string& name, const std::string& path) {
    auto idx = index_of(name);
    if (!idx) throw Error(path + ": no container " + qstr(name) + " in the task definition");
    if (*idx == self) throw Error(path + ": a container cannot refer to itself");
    return *idx;
  };
  std::vector<std::vector<size_t>> deps(cs.size());
  auto add_dep = [&](size_t i, size_t d) {
    if (std::find(deps[i].begin(), deps[i].end(), d) == deps[i].end()) deps[i].push_back(d);
  };
  for (size_t i = 0; i < cs.size(); ++i) {
    auto& c = cs[i];
    for (size_t j = 0; j < c.depends_on.size(); ++j) {
      const auto& d = c.depends_on[j];
      size_t target = lookup(i, d.container, refs[i].depends_on[j] + ".containerName");
      std::string cond_path = refs[i].depends_on[j] + ".condition";
      if ((d.condition == DependencyCondition::complete ||
           d.condition == DependencyCondition::success) &&
          cs[target].essential)
        throw Error(cond_path + ": " + to_string(d.condition) +
                    " cannot be used on essential container " + qstr(d.container) +
                    " (its exit would stop the task)");
      if (d.condition == DependencyCondition::healthy && !cs[target].health_check)
        throw Error(cond_path + ": HEALTHY needs a healthCheck on container " + qstr(d.container));
      add_dep(i, target);
    }
    for (size_t j = 0; j < c.links.size(); ++j)
      add_dep(i, lookup(i, c.links[j].container, refs[i].links[j]));
    for (size_t j = 0; j < c.volumes_from.size(); ++j)
      add_dep(i,
              lookup(i, c.volumes_from[j].container, refs[i].volumes_from[j] + ".sourceContainer"));
    for (size_t j = 0; j < c.mounts.size(); ++j)
      if (!plan.find_volume(c.mounts[j].volume))
        throw Error(refs[i].mounts[j] + ".sourceVolume: no volume " + qstr(c.mounts[j].volume) +
                    " in the task definition's volumes");
  }
  std::vector<std::string> names;
  for (const auto& c : cs) names.push_back(c.name);
  plan.start_order = start_order(names, deps);

  // volumesFrom: the source's mounts, in start order so chains resolve.
  for (size_t i : plan.start_order) {
    for (const auto& vf : cs[i].volumes_from) {
      const auto& src = cs[*index_of(vf.container)];
      for (const auto& m : src.mounts) {
        bool taken = std::any_of(cs[i].mounts.begin(), cs[i].mounts.end(),
                                 [&](const Mount& o) { return o.destination == m.destination; });
        if (taken) continue;
        Mount copy = m;
        copy.read_only = m.read_only || vf.read_only;
        if (copy.from_container.empty()) copy.from_container = src.name;
        cs[i].mounts.push_back(copy);
      }
    }
  }
}

void check_ports(const TaskPlan& plan, const std::vector<ContainerRefs>& refs) {
  std::map<std::pair<int, std::string>, std::string> used;  // explicit host port -> path
  for (size_t i = 0; i < plan.containers.size(); ++i) {
    const auto& c = plan.containers[i];
    for (size_t j = 0; j < c.ports.size(); ++j) {
      const auto& p = c.ports[j];
      if (!p.host_port) continue;
      auto key = std::make_pair(static_cast<int>(*p.host_port), p.protocol);
      auto [it, fresh] = used.emplace(key, refs[i].ports[j]);
      if (!fresh)
        throw Error(refs[i].ports[j] + ".hostPort: " + std::to_string(*p.host_port) + "/" +
                    p.protocol + " is already used by " + it->second);
    }
  }
}

void check_resources(TaskPlan& plan, const std::vector<ContainerRefs>& refs,
                     const AgentConfig& agent, const std::string& cd_path) {
  auto& r = plan.resources;
  int64_t cpu_sum = 0;
  uint64_t shares_sum = 0;
  for (size_t i = 0; i < plan.containers.size(); ++i) {
    const auto& c = plan.containers[i];
    cpu_sum += c.cpu_units;
    shares_sum += std::max<uint64_t>(static_cast<uint64_t>(c.cpu_units), 2);
    if (!r.memory_mib && !refs[i].has_memory)
      throw Error(refs[i].path +
                  ": memory or memoryReservation is required when the task has no memory");
    if (r.memory_mib) {
      int64_t task_bytes = *r.memory_mib * kMiB;
      if (c.memory_bytes && *c.memory_bytes > task_bytes)
        throw Error(refs[i].path + ".memory: " + std::to_string(*c.memory_bytes / kMiB) +
                    " MiB is more than the task memory (" + std::to_string(*r.memory_mib) +
                    " MiB)");
      if (c.memory_reservation_bytes && *c.memory_reservation_bytes > task_bytes)
        throw Error(refs[i].path +
                    ".memoryReservation: " + std::to_string(*c.memory_reservation_bytes / kMiB) +
                    " MiB is more than the task memory (" + std::to_string(*r.memory_mib) +
                    " MiB)");
    }
  }
  if (r.cpu_units && cpu_sum > *r.cpu_units)
    throw Error(cd_path + ": the containers' cpu (" + std::to_string(cpu_sum) +
                " units in all) is more than the task cpu (" + std::to_string(*r.cpu_units) + ")");

  r.cpu_period_us = agent.cpu_period_us;
  r.pids_limit = agent.pids_limit;
  if (!agent.task_cpu_mem_limit) {
    if (r.cpu_units || r.memory_mib)
      add_warning(
          plan.warnings,
          "task cpu and memory limits are off (ECS_ENABLE_TASK_CPU_MEM_LIMIT=false), ignored");
    return;
  }
  if (r.cpu_units) {
    // Task cpu is a CFS quota: units/1024 of a CPU per period, as the agent does.
    r.cpu_quota_us = std::max(kMinCpuQuotaUs, *r.cpu_units * r.cpu_period_us / 1024);
  } else {
    r.cpu_shares = std::clamp<uint64_t>(shares_sum, 2, kMaxCpuShares);
  }
  if (r.memory_mib) r.memory_limit_bytes = *r.memory_mib * kMiB;
}

}  // namespace

int64_t parse_task_cpu(const Node& n) {
  const char* what = "CPU units like \"256\" or vCPUs like \"0.25 vCPU\"";
  std::optional<int64_t> units;
  if (n.raw().is_number_integer()) {
    units = n.i64();
  } else if (n.raw().is_string()) {
    std::string s = lower_trimmed(n.str());
    if (auto v = number_with_suffix(s, "vcpu"))
      units = round_half_away(*v * 1024);
    else
      units = plain_integer(s);
  }
  if (!units) n.expected(what);
  if (*units != 0 && (*units < 128 || *units > 10240))
    n.fail("expected from 128 to 10240 CPU units (0.125 to 10 vCPU), got " +
           std::to_string(*units));
  return *units;
}

int64_t parse_task_memory(const Node& n) {
  std::optional<int64_t> mib;
  if (n.raw().is_number_integer()) {
    mib = n.i64();
  } else if (n.raw().is_string()) {
    std::string s = lower_trimmed(n.str());
    if (auto v = number_with_suffix(s, "gb"))
      mib = round_half_away(*v * 1024);
    else if (auto m = number_with_suffix(s, "mib"))
      mib = round_half_away(*m);
    else if (auto m2 = number_with_suffix(s, "mb"))
      mib = round_half_away(*m2);
    else
      mib = plain_integer(s);
  }
  if (!mib || *mib < 0) n.expected("memory in MiB like \"512\" or GB like \"1 GB\"");
  return *mib;
}

TaskPlan plan_task(const Json& input, const PlanOptions& opts) {
  TaskPlan plan;
  auto& warnings = plan.warnings;
  warnings = opts.agent.warnings;
  plan.pull_behavior = opts.agent.pull_behavior;

  // The three accepted shapes, turned into one task definition object.
  Json doc;
  std::string base_path;
  if (input.is_array()) {
    doc = Json{{"containerDefinitions", input}};
  } else if (input.is_object() && input.contains("taskDefinition")) {
    Node root(input, "");
    Fields wrapper(root, warnings);
    wrapper.ignore({"tags", "ResponseMetadata"});
    auto td = wrapper.at("taskDefinition");
    if (!td.raw().is_object()) td.expected("an object");
    wrapper.finish();
    doc = td.raw();
    base_path = "taskDefinition";
  } else if (input.is_object()) {
    doc = input;
  } else {
    Node(input, "").expected(
        "a task definition object, {\"taskDefinition\": {...}} or an array of container "
        "definitions");
  }
  apply_task_overrides(doc, opts.overrides, warnings);

  Node root(doc, base_path);
  Fields f(root, warnings);
  f.ignore({"status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy",
            "deregisteredAt", "tags"});
  if (auto v = f.opt("placementConstraints"); v && !v->items().empty())
    add_warning(
        warnings,
        v->path() + ": placement is decided by ECS before the task reaches the instance, ignored");
  if (auto v = f.opt("family")) plan.family = v->str();
  if (auto v = f.opt("revision")) plan.revision = v->i64();
  if (auto v = f.opt("taskDefinitionArn")) plan.arn = v->str();
  if (auto v = f.opt("taskRoleArn")) plan.task_role_arn = v->str();
  if (auto v = f.opt("executionRoleArn")) plan.execution_role_arn = v->str();
  if (auto v = f.opt("requiresCompatibilities")) {
    bool external = false;
    auto items = v->items();
    for (const auto& item : items) {
      std::string s = item.str();
      if (s != "EC2" && s != "FARGATE" && s != "EXTERNAL" && s != "MANAGED_INSTANCES")
        item.fail("expected EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES, got " + qstr(s));
      external = external || s == "EXTERNAL";
    }
    if (!items.empty() && !external)
      add_warning(warnings, v->path() +
                                ": EXTERNAL is not listed; ECS would not place this task on an ECS "
                                "Anywhere instance");
  }
  if (auto v = f.opt("networkMode")) {
    std::string m = v->str();
    if (m == "bridge")
      plan.network_mode = NetworkMode::bridge;
    else if (m == "host")
      plan.network_mode = NetworkMode::host;
    else if (m == "none")
      plan.network_mode = NetworkMode::none;
    else if (m == "awsvpc")
      v->fail(std::string("networkMode \"awsvpc\" ") + kExternal + "; use bridge, host or none");
    else
      v->fail("expected \"bridge\", \"host\" or \"none\", got " + qstr(m));
  }
  if (auto v = f.opt("pidMode")) {
    plan.pid_mode = v->str();
    if (plan.pid_mode != "host" && plan.pid_mode != "task")
      v->fail("expected \"host\" or \"task\", got " + qstr(plan.pid_mode));
  }
  if (auto v = f.opt("ipcMode")) {
    plan.ipc_mode = v->str();
    if (plan.ipc_mode != "host" && plan.ipc_mode != "task" && plan.ipc_mode != "none")
      v->fail("expected \"host\", \"task\" or \"none\", got " + qstr(plan.ipc_mode));
  }
  if (auto v = f.opt("runtimePlatform")) {
    Fields rf(*v, warnings);
    if (auto os = rf.opt("operatingSystemFamily"); os && os->str() != "LINUX")
      os->fail("only LINUX is supported by ecsa, got " + qstr(os->str()));
    if (auto arch = rf.opt("cpuArchitecture")) {
      plan.cpu_architecture = arch->str();
      if (plan.cpu_architecture != "X86_64" && plan.cpu_architecture != "ARM64")
        arch->fail("expected \"X86_64\" or \"ARM64\", got " + qstr(plan.cpu_architecture));
    }
  }
  f.reject("proxyConfiguration", std::string("App Mesh proxy configuration ") + kExternal);
  f.reject("ephemeralStorage", std::string("ephemeral storage (Fargate only) ") + kExternal);
  if (auto v = f.opt("inferenceAccelerators"); v && !v->items().empty())
    v->fail(std::string("Elastic Inference accelerators ") + kExternal);
  if (auto v = f.opt("enableFaultInjection"); v && v->boolean())
    v->fail(std::string("fault injection ") + kExternal);

  if (auto v = f.opt("cpu"); v && parse_task_cpu(*v) > 0)
    plan.resources.cpu_units = parse_task_cpu(*v);
  if (auto v = f.opt("memory"); v && parse_task_memory(*v) > 0)
    plan.resources.memory_mib = parse_task_memory(*v);

  if (auto vols = f.opt("volumes")) {
    for (const auto& item : vols->items()) {
      Volume v = parse_volume(item, warnings);
      if (plan.find_volume(v.name)) item.fail("volume name " + qstr(v.name) + " is used twice");
      plan.volumes.push_back(v);
    }
  }

  auto cds = f.at("containerDefinitions");
  auto items = cds.items();
  if (items.empty()) cds.fail("expected at least one container definition");
  if (items.size() > 10)
    cds.fail("at most 10 containers in a task, got " + std::to_string(items.size()));
  TaskContext ctx;
  ctx.network_mode = plan.network_mode;
  ctx.ipc_mode = plan.ipc_mode;
  ctx.agent = &opts.agent;
  ctx.base_dir = opts.base_dir.empty() ? "." : opts.base_dir;
  ctx.extra_env = &opts.extra_env;
  ctx.warnings = &warnings;
  std::vector<ContainerRefs> refs(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    ContainerPlan c = parse_container_definition(items[i], ctx, refs[i]);
    if (plan.find(c.name))
      throw Error(items[i].path() + ".name: container name " + qstr(c.name) + " is used twice");
    plan.containers.push_back(std::move(c));
  }
  f.finish();

  if (std::none_of(plan.containers.begin(), plan.containers.end(),
                   [](const ContainerPlan& c) { return c.essential; }))
    cds.fail("at least one container must be essential");
  check_references(plan, refs);
  check_ports(plan, refs);
  check_resources(plan, refs, opts.agent, cds.path());
  return plan;
}

TaskPlan plan_task_file(const std::string& path, PlanOptions opts) {
  std::string text = fs::read_file(path);
  Json doc = json::parse(text, path);
  if (opts.base_dir.empty()) opts.base_dir = fs::dirname(path);
  TaskPlan plan;
  try {
    plan = plan_task(doc, opts);
  } catch (const std::exception&) {
    rethrow_with_context(path);
  }
  if (plan.family.empty()) {
    std::string base = fs::basename(path);
    if (base.size() > 5 && base.compare(base.size() - 5, 5, ".json") == 0)
      base.resize(base.size() - 5);
    plan.family = base;
  }
  return plan;
}

}  // namespace ecsa::ecs
