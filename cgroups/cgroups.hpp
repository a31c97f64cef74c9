// Control groups for containers and tasks: cgroup v1, v2 and hybrid hosts (v1 controllers
// plus a cgroup2 mount at /sys/fs/cgroup/unified, as systemd sets up), detected at run time.
// Each controller is a small unit behind one interface (cgroups/controller.hpp).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ecsa::cgroups {

// OCI runtime-spec linux.resources (the parts ecsa applies). Unset fields are left alone.
struct CpuResources {
  std::optional<uint64_t> shares;        // v1 cpu.shares; v2 cpu.weight (converted)
  std::optional<int64_t> quota;          // microseconds; -1 = unlimited
  std::optional<uint64_t> period;        // microseconds
  std::optional<int64_t> realtime_runtime;
  std::optional<uint64_t> realtime_period;
  std::optional<std::string> cpus;       // cpuset.cpus
  std::optional<std::string> mems;       // cpuset.mems
};
struct MemoryResources {
  std::optional<int64_t> limit;          // bytes; -1 = unlimited
  std::optional<int64_t> reservation;    // soft limit, bytes
  std::optional<int64_t> swap;           // memory+swap, bytes (OCI semantics); -1 = unlimited
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;     // v1 memory.use_hierarchy (task cgroups set it)
};
struct PidsResources {
  std::optional<int64_t> limit;          // <= 0 = max
};
struct DeviceRule {
  bool allow = false;
  char type = 'a';                        // 'a', 'c', 'b'
  std::optional<int64_t> major, minor;    // unset = '*'
  std::string access = "rwm";
};
struct Resources {
  CpuResources cpu;
  MemoryResources memory;
  PidsResources pids;
  std::vector<DeviceRule> devices;        // applied in order; empty = leave alone
  std::map<std::string, std::string> unified;  // v2 "file" -> "value", written as given
};

enum class Mode { v1, v2, hybrid };

// Where the hierarchies are mounted on this host. Detected from /proc/self/mountinfo once
// per process (cheap after the first call).
struct Layout {
  Mode mode = Mode::v1;
  std::map<std::string, std::string> v1_mounts;  // controller ("cpu", "memory", "name=systemd") -> mount point
  std::string v2_mount;                            // cgroup2 mount point, if any
  std::set<std::string> v2_controllers;            // the v2 root's cgroup.controllers
  // Non-empty for the fake layouts of the unit tests: the temporary directory. create()
  // then makes the files the kernel would make, and every write is also appended to
  // <fake_root>/writes.log as "<path relative to fake_root> <value>".
  std::string fake_root;

  static const Layout& host();
  // The cgroup mounts of a /proc/self/mountinfo text (v2_controllers is left empty).
  static Layout parse_mountinfo(const std::string& mountinfo);
  // For tests: a layout over a temporary directory. `controllers` are the v1 mounts, one
  // directory each; a comma joins co-mounted ones ("cpu,cpuacct"). fake_hybrid adds a
  // cgroup2 mount at <root>/unified without controllers, as systemd's hybrid setup does.
  static Layout fake_v1(const std::string& root, const std::vector<std::string>& controllers);
  static Layout fake_v2(const std::string& root);
  static Layout fake_hybrid(const std::string& root, const std::vector<std::string>& controllers);

  // Mount point of the v1 hierarchy that holds `controller`, or "" (also on pure v2).
  std::string v1_mount(const std::string& controller) const;
  // The distinct v1 mount points a cgroup is created in (none on pure v2).
  std::vector<std::string> v1_roots() const;
};

// What `ecsa-run check` reports for each of cpu, cpuset, memory, pids, devices, freezer.
struct ControllerStatus {
  std::string name;
  bool in_kernel = false;   // /proc/cgroups lists it with enabled = 1 (v2 core features: yes)
  bool available = false;   // v1: mounted; v2: in the root's cgroup.controllers
  std::string where;        // mount point, "cgroup2 <mount>", or "" when unavailable
  std::optional<bool> cfs_bandwidth;  // cpu only: cpu.cfs_quota_us / cpu.max present; nullopt = unknown
  std::string note;         // why it is missing and the remedy, or a remark ("" when all is well)
};
std::vector<ControllerStatus> host_controllers();
// The same for a given layout and /proc/cgroups text (for tests).
std::vector<ControllerStatus> controller_status(const Layout& layout, const std::string& proc_cgroups);

// Statistics the supervisor reads before a cgroup is removed (cgroup v1 records an OOM kill
// only in the killed process's own memory cgroup).
struct MemoryEvents {
  uint64_t oom_kill = 0;   // v1 memory.oom_control oom_kill; v2 memory.events oom_kill
  uint64_t oom = 0;        // v2 memory.events oom; v1 memory.failcnt (memsw.failcnt if larger)
  uint64_t max_usage = 0;  // v1 memory.max_usage_in_bytes; v2 memory.peak when present
};

// One cgroup path (e.g. "/ecsa/<id>") across all hierarchies of a Layout: every v1 mount
// (all of them, named ones too, as runc) plus the v2 mount when there is one. A controller
// is written where it lives: its v1 hierarchy if mounted, else v2 if the kernel offers it
// there. The layout must outlive the Cgroup.
class Cgroup {
 public:
  // `path` is below the root of each hierarchy; "..", "" and "/" are refused (Error).
  Cgroup(const Layout& layout, std::string path);

  const std::string& path() const { return path_; }
  // Creates the directories (mkdir -p in every hierarchy it uses; v1 cpuset: copies the
  // parent's cpus and mems into each level; v2: enables the controllers that live there in
  // the parents' cgroup.subtree_control). Error names the directory; on failure the
  // directories it made are removed again.
  void create();
  // Writes resources through each controller. Everything asked for is checked to be there
  // before anything is written: an unavailable controller asked for a limit is an error
  // naming it ("memory cgroup controller not available (kernel cmdline: ...)"). A value the
  // kernel refuses: "write <value> to <file>: <errno text>".
  void apply(const Resources& r);
  void add_process(pid_t pid);
  std::vector<pid_t> pids() const;          // every process in the cgroup and its children (all hierarchies union)
  bool exists() const;
  // Removes the directories (children first); retries briefly while the kernel still counts
  // exiting tasks. A missing cgroup is fine.
  void destroy();
  MemoryEvents memory_events() const;
  // Host directory of this cgroup in a v1 controller's hierarchy ("memory") or, with
  // controller "" , in the v2 hierarchy. A controller not on v1 that v2 offers: the v2
  // directory. Empty if not mounted.
  std::string dir(const std::string& controller) const;
  // Freeze/thaw (v1 freezer, v2 cgroup.freeze), for kill --all and pause.
  void set_frozen(bool frozen);

 private:
  const Layout* layout_;
  std::string path_;
};

}  // namespace ecsa::cgroups
