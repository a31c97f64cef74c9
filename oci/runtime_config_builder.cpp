#include "oci/runtime_config_builder.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace ecsa::oci {

namespace {

std::string cap_name(std::string n) {
  for (auto& ch : n) ch = static_cast<char>(toupper(ch));
  return n.rfind("CAP_", 0) == 0 ? n : "CAP_" + n;
}

const std::vector<std::string>& all_capabilities() {
  static const std::vector<std::string> all = {
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
      "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
      "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
      "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
      "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
      "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
  return all;
}

std::vector<std::string> capabilities(const ContainerConfig& c) {
  if (c.privileged) return all_capabilities();
  std::vector<std::string> caps;
  for (const auto& n : docker_default_capabilities()) caps.push_back("CAP_" + n);
  for (const auto& a : c.cap_add) {
    if (cap_name(a) == "CAP_ALL") {
      caps = all_capabilities();
      continue;
    }
    if (std::find(caps.begin(), caps.end(), cap_name(a)) == caps.end()) caps.push_back(cap_name(a));
  }
  for (const auto& d : c.cap_drop) {
    if (cap_name(d) == "CAP_ALL") {
      caps.clear();
      continue;
    }
    caps.erase(std::remove(caps.begin(), caps.end(), cap_name(d)), caps.end());
  }
  return caps;
}

json::Json mount(const std::string& dest, const std::string& type, const std::string& src,
                 std::vector<std::string> opts) {
  return {{"destination", dest}, {"type", type}, {"source", src}, {"options", opts}};
}

void add_namespace(json::Json& list, const char* type, const std::string& how) {
  if (how == "host") return;
  json::Json ns = {{"type", type}};
  if (!how.empty()) ns["path"] = how;
  list.push_back(ns);
}

}  // namespace

const std::vector<std::string>& docker_default_capabilities() {
  static const std::vector<std::string> caps = {
      "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
      "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"};
  return caps;
}

json::Json build_runtime_config(const ContainerConfig& c, const std::string& rootfs) {
  using json::Json;
  auto caps = capabilities(c);
  Json process = {
      {"terminal", c.terminal},
      {"user", {{"uid", c.uid}, {"gid", c.gid}}},
      {"args", c.args},
      {"env", c.env},
      {"cwd", c.cwd.empty() ? "/" : c.cwd},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"inheritable", caps}}},
      {"noNewPrivileges", c.no_new_privileges},
  };
  if (!c.additional_gids.empty()) process["user"]["additionalGids"] = c.additional_gids;
  if (!c.rlimits.empty()) process["rlimits"] = c.rlimits;

  std::string shm = "size=" + std::to_string(c.shm_size > 0 ? c.shm_size : 64 << 20);
  Json mounts = Json::array({
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", c.privileged ? "rw" : "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup",
            {"nosuid", "noexec", "nodev", "relatime", c.privileged ? "rw" : "ro"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", shm}),
  });
  for (const auto& m : c.mounts) mounts.push_back(mount(m.destination, m.type, m.source, m.options));

  Json namespaces = Json::array({{{"type", "mount"}}, {{"type", "uts"}}, {{"type", "cgroup"}}});
  add_namespace(namespaces, "pid", c.pid_ns);
  add_namespace(namespaces, "ipc", c.ipc_ns);
  add_namespace(namespaces, "network", c.network_ns);

  Json resources = {{"devices", Json::array({{{"allow", false}, {"access", "rwm"}}})}};
  if (c.privileged) resources["devices"] = Json::array({{{"allow", true}, {"access", "rwm"}}});
  if (c.memory_limit > 0) {
    resources["memory"]["limit"] = c.memory_limit;
    // Docker: without --memory-swap, swap may be as large as memory (memory+swap = 2x).
    int64_t swap = c.memory_swap == 0 ? 2 * c.memory_limit : c.memory_swap;
    resources["memory"]["swap"] = swap;
  }
  if (c.memory_reservation > 0) resources["memory"]["reservation"] = c.memory_reservation;
  if (c.cpu_shares > 0) resources["cpu"]["shares"] = c.cpu_shares;
  if (c.cpu_quota > 0) {
    resources["cpu"]["quota"] = c.cpu_quota;
    resources["cpu"]["period"] = c.cpu_period > 0 ? c.cpu_period : 100000;
  }
  if (c.pids_limit > 0) resources["pids"]["limit"] = c.pids_limit;

  Json linux = {{"namespaces", namespaces}, {"resources", resources}};
  if (!c.cgroups_path.empty()) linux["cgroupsPath"] = c.cgroups_path;
  if (!c.sysctl.empty()) linux["sysctl"] = c.sysctl;
  if (!c.privileged) {
    linux["maskedPaths"] = {"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                            "/sys/devices/virtual/powercap"};
    linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  }
  Json spec = {{"ociVersion", "1.0.2"},
               {"process", process},
               {"root", {{"path", rootfs}, {"readonly", c.read_only_root}}},
               {"mounts", mounts},
               {"linux", linux}};
  if (!c.hostname.empty()) spec["hostname"] = c.hostname;
  if (!c.annotations.empty()) spec["annotations"] = c.annotations;
  return spec;
}

}  // namespace ecsa::oci
