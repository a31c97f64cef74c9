// The config.json that `spec` writes: the same defaults as `runc spec`, so bundles made for
// runc behave the same under ecsa.
#include "oci/runtime_spec.hpp"

namespace ecsa::oci {

json::Json default_spec(bool rootless) {
  using json::Json;
  Json caps = Json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  Json mounts = Json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/shm"},
       {"type", "tmpfs"},
       {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      {{"destination", "/sys/fs/cgroup"},
       {"type", "cgroup"},
       {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
  });
  Json namespaces = Json::array({{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}},
                                 {{"type", "uts"}}, {{"type", "mount"}}, {{"type", "cgroup"}}});
  Json linux = {
      {"resources", {{"devices", Json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"namespaces", namespaces},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths",
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  Json spec = {
      {"ociVersion", "1.0.2-dev"},
      {"process",
       {{"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", Json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
        {"noNewPrivileges", true}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "ecsa"},
      {"mounts", mounts},
      {"linux", linux},
  };
  if (rootless) {
    // Rootless: a user namespace mapping the caller, no network namespace change needed for
    // that, and sysfs bound from the host (a new sysfs needs a new network namespace owner).
    spec["linux"]["uidMappings"] = Json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});
    spec["linux"]["gidMappings"] = Json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});
    spec["linux"]["namespaces"].push_back({{"type", "user"}});
    spec["linux"].erase("resources");
  }
  return spec;
}

}  // namespace ecsa::oci
