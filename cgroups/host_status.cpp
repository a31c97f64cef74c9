// What the host offers of each controller ecsa uses, for `ecsa-run check`.
#include <map>
#include <sstream>

#include "cgroups/cgroups.hpp"
#include "cgroups/controller.hpp"
#include "common/fs.hpp"

namespace ecsa::cgroups {

namespace {

// /proc/cgroups: "#subsys_name hierarchy num_cgroups enabled" -> name -> enabled.
std::map<std::string, bool> kernel_controllers(const std::string& proc_cgroups) {
  std::map<std::string, bool> out;
  std::istringstream in(proc_cgroups);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::string name;
    long hierarchy, num, enabled;
    if (f >> name >> hierarchy >> num >> enabled) out[name] = enabled != 0;
  }
  return out;
}

// A non-root v2 cgroup that has `file` (the root has no cpu.max or cgroup.freeze): the
// first child of the root that has `probe`, or "" if none.
std::string v2_child_with(const std::string& v2_mount, const std::string& probe) {
  for (const std::string& name : fs::list_dir(v2_mount)) {
    std::string d = v2_mount + "/" + name;
    if (fs::is_dir(d) && fs::exists(d + "/" + probe)) return d;
  }
  return "";
}

}  // namespace

std::vector<ControllerStatus> controller_status(const Layout& l, const std::string& proc_cgroups) {
  const auto kernel = kernel_controllers(proc_cgroups);
  std::vector<ControllerStatus> out;
  for (const Controller* c : {&cpu_controller(), &cpuset_controller(), &memory_controller(),
                              &pids_controller(), &devices_controller(), &freezer_controller()}) {
    ControllerStatus s;
    s.name = std::string(c->name());
    auto k = kernel.find(s.name);
    const bool core_v2 = !c->v2_controller() && l.mode == Mode::v2;
    s.in_kernel = (k != kernel.end() && k->second) || core_v2;
    std::string v1 = l.v1_mount(s.name);
    if (!v1.empty()) {
      s.available = true;
      s.where = v1;
    } else if (!l.v2_mount.empty() && (l.v2_controllers.count(s.name) || !c->v2_controller())) {
      s.available = true;
      s.where = "cgroup2 " + l.v2_mount;
    }
    if (!s.in_kernel) {
      s.note = "not in the kernel or disabled (" + std::string(c->hint()) + ")";
      s.available = s.available && core_v2;
    } else if (!s.available) {
      s.note = l.mode == Mode::v2
                   ? "not in " + l.v2_mount + "/cgroup.controllers (" + std::string(c->hint()) + ")"
                   : "not mounted (mount -t cgroup -o " + s.name + " cgroup /sys/fs/cgroup/" + s.name + ")";
    }
    if (s.available && v1.empty() && s.name == "devices")
      s.note = "cgroup v2: device rules are enforced by an eBPF program (needs CONFIG_CGROUP_BPF=y)";
    if (s.name == "cpu" && s.available) {
      if (!v1.empty()) {
        s.cfs_bandwidth = fs::exists(v1 + "/cpu.cfs_quota_us");
      } else {
        std::string d = v2_child_with(l.v2_mount, "cpu.weight");
        if (!d.empty()) s.cfs_bandwidth = fs::exists(d + "/cpu.max");
      }
      if (s.cfs_bandwidth == false)
        s.note = "no CFS bandwidth control: CPU quotas cannot be enforced (kernel config: CONFIG_CFS_BANDWIDTH=y)";
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<ControllerStatus> host_controllers() {
  return controller_status(Layout::host(), fs::read_file_if_exists("/proc/cgroups").value_or(""));
}

}  // namespace ecsa::cgroups
