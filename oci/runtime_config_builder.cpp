#include "oci/runtime_config_builder.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/error.hpp"

namespace ecsa::oci {

namespace {

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

// linux.devices entry and its cgroup rule for a host device node.
void add_device(json::Json& devices, json::Json& rules, const DeviceMapping& d) {
  struct stat st{};
  if (::stat(d.host_path.c_str(), &st) != 0) throw_errno("device " + d.host_path);
  std::string type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : "";
  if (type.empty()) throw Error("device " + d.host_path + ": not a character or block device");
  for (char p : d.permissions)
    if (p != 'r' && p != 'w' && p != 'm')
      throw Error("device " + d.host_path + ": permissions \"" + d.permissions + "\": expected letters of rwm");
  int64_t major = ::major(st.st_rdev), minor = ::minor(st.st_rdev);
  devices.push_back({{"path", d.container_path.empty() ? d.host_path : d.container_path},
                     {"type", type},
                     {"major", major},
                     {"minor", minor},
                     {"fileMode", st.st_mode & 07777},
                     {"uid", st.st_uid},
                     {"gid", st.st_gid}});
  rules.push_back({{"allow", true}, {"type", type}, {"major", major}, {"minor", minor},
                   {"access", d.permissions.empty() ? "rwm" : d.permissions}});
}

}  // namespace

json::Json build_runtime_config(const ContainerConfig& c, const std::string& rootfs) {
  using json::Json;
  const auto& caps = c.capabilities;
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
  Json devices = Json::array();
  for (const auto& d : c.devices) add_device(devices, resources["devices"], d);

  Json linux = {{"namespaces", namespaces}, {"resources", resources}};
  if (!devices.empty()) linux["devices"] = devices;
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
