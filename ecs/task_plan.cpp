#include "ecs/task_plan.hpp"

namespace ecsa::ecs {

using nlohmann::json;

const char* to_string(NetworkMode m) {
  switch (m) {
    case NetworkMode::bridge:
      return "bridge";
    case NetworkMode::host:
      return "host";
    case NetworkMode::none:
      return "none";
  }
  return "bridge";
}

const char* to_string(DependencyCondition c) {
  switch (c) {
    case DependencyCondition::start:
      return "START";
    case DependencyCondition::complete:
      return "COMPLETE";
    case DependencyCondition::success:
      return "SUCCESS";
    case DependencyCondition::healthy:
      return "HEALTHY";
  }
  return "START";
}

const char* to_string(Volume::Kind k) {
  switch (k) {
    case Volume::Kind::host:
      return "host";
    case Volume::Kind::task_local:
      return "task-local";
    case Volume::Kind::docker:
      return "docker";
  }
  return "task-local";
}

void env_set(EnvList& env, const std::string& name, const std::string& value) {
  for (auto& [k, v] : env) {
    if (k == name) {
      v = value;
      return;
    }
  }
  env.emplace_back(name, value);
}

void env_set_default(EnvList& env, const std::string& name, const std::string& value) {
  for (const auto& kv : env)
    if (kv.first == name) return;
  env.emplace_back(name, value);
}

std::vector<std::string> HealthCheck::argv() const {
  if (test.empty()) return {};
  std::vector<std::string> out;
  // Docker runs CMD-SHELL with the container's shell: /bin/sh -c followed by the rest.
  if (test[0] == "CMD-SHELL") out = {"/bin/sh", "-c"};
  out.insert(out.end(), test.begin() + 1, test.end());
  return out;
}

const ContainerPlan* TaskPlan::find(const std::string& name) const {
  for (const auto& c : containers)
    if (c.name == name) return &c;
  return nullptr;
}

const Volume* TaskPlan::find_volume(const std::string& name) const {
  for (const auto& v : volumes)
    if (v.name == name) return &v;
  return nullptr;
}

namespace {
template <typename T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
}  // namespace

json to_json(const ContainerPlan& c) {
  json j;
  j["name"] = c.name;
  j["image"] = c.image;
  j["essential"] = c.essential;
  j["cpu"] = c.cpu_units;
  j["cpuShares"] = c.cpu_shares;
  j["memoryBytes"] = opt(c.memory_bytes);
  j["memoryReservationBytes"] = opt(c.memory_reservation_bytes);
  j["memorySwapBytes"] = opt(c.memory_swap_bytes);
  j["swappiness"] = opt(c.swappiness);
  j["entryPoint"] = opt(c.entry_point);
  j["command"] = opt(c.command);
  json env = json::array();
  for (const auto& [k, v] : c.env) env.push_back(k + "=" + v);
  j["env"] = env;
  json secrets = json::array();
  for (const auto& s : c.secrets)
    secrets.push_back({{"name", s.name}, {"valueFrom", s.value_from}});
  j["secrets"] = secrets;
  j["workingDir"] = c.working_dir;
  j["user"] = c.user;

  json ports = json::array();
  for (const auto& p : c.ports) {
    json pj{{"containerPort", p.container_port},
            {"protocol", p.protocol},
            {"hostPort", opt(p.host_port)}};
    if (p.is_range()) pj["containerPortEnd"] = p.container_port_end;
    if (!p.name.empty()) pj["name"] = p.name;
    ports.push_back(pj);
  }
  j["ports"] = ports;
  json mounts = json::array();
  for (const auto& m : c.mounts) {
    json mj{{"volume", m.volume}, {"destination", m.destination}, {"readOnly", m.read_only}};
    if (!m.from_container.empty()) mj["fromContainer"] = m.from_container;
    mounts.push_back(mj);
  }
  j["mounts"] = mounts;
  json links = json::array();
  for (const auto& l : c.links) links.push_back({{"container", l.container}, {"alias", l.alias}});
  j["links"] = links;
  j["hostname"] = c.hostname;
  j["dnsServers"] = c.dns_servers;
  j["dnsSearchDomains"] = c.dns_search_domains;
  json hosts = json::array();
  for (const auto& h : c.extra_hosts) hosts.push_back({{"hostname", h.hostname}, {"ip", h.ip}});
  j["extraHosts"] = hosts;
  j["disableNetworking"] = c.disable_networking;

  if (c.health_check) {
    const auto& h = *c.health_check;
    j["healthCheck"] = {{"test", h.test},
                        {"interval", h.interval_s},
                        {"timeout", h.timeout_s},
                        {"retries", h.retries},
                        {"startPeriod", h.start_period_s}};
  } else {
    j["healthCheck"] = nullptr;
  }
  json deps = json::array();
  for (const auto& d : c.depends_on)
    deps.push_back({{"container", d.container}, {"condition", to_string(d.condition)}});
  j["dependsOn"] = deps;
  j["startTimeout"] = c.start_timeout_s;
  j["stopTimeout"] = c.stop_timeout_s;
  if (c.restart_policy) {
    const auto& r = *c.restart_policy;
    j["restartPolicy"] = {{"enabled", r.enabled},
                          {"ignoredExitCodes", r.ignored_exit_codes},
                          {"restartAttemptPeriod", r.attempt_period_s}};
  } else {
    j["restartPolicy"] = nullptr;
  }

  j["privileged"] = c.privileged;
  j["readonlyRootfs"] = c.readonly_rootfs;
  j["init"] = c.init_process;
  j["interactive"] = c.interactive;
  j["pseudoTerminal"] = c.pseudo_terminal;
  j["noNewPrivileges"] = c.no_new_privileges;
  j["apparmorProfile"] = c.apparmor_profile;
  j["capAdd"] = c.cap_add;
  j["capDrop"] = c.cap_drop;
  j["capabilities"] = c.capabilities;
  j["shmSizeBytes"] = opt(c.shm_size_bytes);
  json tmpfs = json::array();
  for (const auto& t : c.tmpfs)
    tmpfs.push_back(
        {{"containerPath", t.container_path}, {"sizeBytes", t.size_bytes}, {"options", t.options}});
  j["tmpfs"] = tmpfs;
  json devices = json::array();
  for (const auto& d : c.devices)
    devices.push_back({{"hostPath", d.host_path},
                       {"containerPath", d.container_path},
                       {"permissions", d.permissions}});
  j["devices"] = devices;
  json ulimits = json::array();
  for (const auto& u : c.ulimits)
    ulimits.push_back({{"name", u.name}, {"type", u.rlimit}, {"soft", u.soft}, {"hard", u.hard}});
  j["ulimits"] = ulimits;
  j["labels"] = c.labels;
  j["sysctls"] = c.sysctls;
  j["log"] = {{"driver", c.log.driver},
              {"maxSizeBytes", c.log.max_size_bytes},
              {"maxFile", c.log.max_file},
              {"options", c.log.options}};
  j["repositoryCredentials"] = c.repository_credentials;
  return j;
}

json TaskPlan::to_json() const {
  json j;
  j["family"] = family;
  j["revision"] = opt(revision);
  j["taskDefinitionArn"] = arn;
  j["networkMode"] = to_string(network_mode);
  j["pidMode"] = pid_mode;
  j["ipcMode"] = ipc_mode;
  j["taskRoleArn"] = task_role_arn;
  j["executionRoleArn"] = execution_role_arn;
  j["cpuArchitecture"] = cpu_architecture;
  j["imagePullBehavior"] = to_string(pull_behavior);
  const auto& r = resources;
  j["resources"] = {
      {"cpu", opt(r.cpu_units)},           {"cpuPeriodUs", r.cpu_period_us},
      {"cpuQuotaUs", opt(r.cpu_quota_us)}, {"cpuShares", opt(r.cpu_shares)},
      {"memoryMiB", opt(r.memory_mib)},    {"memoryLimitBytes", opt(r.memory_limit_bytes)},
      {"pidsLimit", opt(r.pids_limit)}};
  json vols = json::array();
  for (const auto& v : volumes) {
    json vj{{"name", v.name}, {"kind", to_string(v.kind)}};
    if (v.kind == Volume::Kind::host) vj["hostPath"] = v.host_path;
    if (v.kind == Volume::Kind::docker) {
      vj["scope"] = v.scope;
      vj["autoprovision"] = v.autoprovision;
      vj["driver"] = v.driver;
      vj["driverOpts"] = v.driver_opts;
      vj["labels"] = v.labels;
    }
    vols.push_back(vj);
  }
  j["volumes"] = vols;
  json cs = json::array();
  for (const auto& c : containers) cs.push_back(ecs::to_json(c));
  j["containers"] = cs;
  json start = json::array(), stop = json::array();
  for (size_t i : start_order) start.push_back(containers[i].name);
  for (size_t i : stop_order()) stop.push_back(containers[i].name);
  j["startOrder"] = start;
  j["stopOrder"] = stop;
  j["warnings"] = warnings;
  return j;
}

}  // namespace ecsa::ecs
