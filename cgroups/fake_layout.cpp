// Fake hierarchies in a temporary directory for the unit tests: the files the kernel would
// have, and the kernel's way of taking writes to them, so that a test can check what
// apply() wrote (the current values, and the order of writes in <root>/writes.log).
#include <fcntl.h>
#include <unistd.h>

#include <set>
#include <sstream>

#include "cgroups/cgroups.hpp"
#include "cgroups/controller.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace ecsa::cgroups {

namespace {

const char kV2Controllers[] = "cpuset cpu io memory hugetlb pids rdma misc";
const char kUnlimited[] = "9223372036854771712";

void put(const std::string& dir, const std::string& name, const std::string& value) {
  std::string p = dir + "/" + name;
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw_errno("create " + p);
  if (!value.empty() && ::write(fd.get(), value.data(), value.size()) < 0) throw_errno("write " + p);
}

std::set<std::string> words(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.insert(w);
  return out;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (std::getline(in, w, ',')) out.push_back(w);
  return out;
}

void v1_files(const std::string& dir, const std::vector<std::string>& controllers, bool root) {
  put(dir, "cgroup.procs", "");
  put(dir, "tasks", "");
  put(dir, "notify_on_release", "0");
  put(dir, "cgroup.clone_children", "0");
  for (const std::string& c : controllers) {
    if (c == "cpu") {
      put(dir, "cpu.shares", "1024\n");
      put(dir, "cpu.cfs_quota_us", "-1\n");
      put(dir, "cpu.cfs_period_us", "100000\n");
      put(dir, "cpu.rt_runtime_us", root ? "950000\n" : "0\n");
      put(dir, "cpu.rt_period_us", "1000000\n");
    } else if (c == "cpuacct") {
      put(dir, "cpuacct.usage", "0\n");
    } else if (c == "cpuset") {
      put(dir, "cpuset.cpus", root ? "0-1\n" : "\n");
      put(dir, "cpuset.mems", root ? "0\n" : "\n");
    } else if (c == "memory") {
      for (const char* f : {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes"})
        put(dir, f, std::string(kUnlimited) + "\n");
      put(dir, "memory.swappiness", "60\n");
      put(dir, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
      put(dir, "memory.use_hierarchy", "1\n");
      put(dir, "memory.failcnt", "0\n");
      put(dir, "memory.max_usage_in_bytes", "0\n");
      put(dir, "memory.usage_in_bytes", "0\n");
    } else if (c == "pids") {
      if (!root) put(dir, "pids.max", "max\n");
      put(dir, "pids.current", "0\n");
    } else if (c == "devices") {
      put(dir, "devices.allow", "");
      put(dir, "devices.deny", "");
      put(dir, "devices.list", "a *:* rwm\n");
    } else if (c == "freezer") {
      if (!root) put(dir, "freezer.state", "THAWED\n");
    }
  }
}

void v2_controller_files(const std::string& dir, const std::string& c) {
  if (c == "cpu") {
    put(dir, "cpu.weight", "100\n");
    put(dir, "cpu.max", "max 100000\n");
  } else if (c == "cpuset") {
    put(dir, "cpuset.cpus", "\n");
    put(dir, "cpuset.mems", "\n");
  } else if (c == "memory") {
    put(dir, "memory.max", "max\n");
    put(dir, "memory.high", "max\n");
    put(dir, "memory.low", "0\n");
    put(dir, "memory.swap.max", "max\n");
    put(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    put(dir, "memory.peak", "0\n");
  } else if (c == "pids") {
    put(dir, "pids.max", "max\n");
  } else if (c == "io") {
    put(dir, "io.max", "");
  }
}

// A v2 directory shows the files of the controllers its parent enabled for it.
void v2_files(const std::string& dir, const std::string& controllers, bool root) {
  put(dir, "cgroup.controllers", controllers + "\n");
  put(dir, "cgroup.subtree_control", "\n");
  put(dir, "cgroup.procs", "");
  if (root) return;
  put(dir, "cgroup.events", "populated 0\nfrozen 0\n");
  put(dir, "cgroup.freeze", "0\n");
  for (const std::string& c : words(controllers)) v2_controller_files(dir, c);
}

bool under(const std::string& p, const std::string& root) {
  return !root.empty() && p.size() > root.size() && p.compare(0, root.size(), root) == 0 &&
         p[root.size()] == '/';
}

Layout make_fake_v1(const std::string& root, const std::vector<std::string>& controllers) {
  Layout l;
  l.fake_root = root;
  l.mode = Mode::v1;
  for (const std::string& entry : controllers) {
    std::string dir = root + "/" + entry;
    fs::mkdir_p(dir);
    auto names = split_commas(entry);
    for (const auto& n : names) l.v1_mounts[n] = dir;
    v1_files(dir, names, true);
  }
  return l;
}

}  // namespace

Layout Layout::fake_v1(const std::string& root, const std::vector<std::string>& controllers) {
  return make_fake_v1(root, controllers);
}

Layout Layout::fake_v2(const std::string& root) {
  Layout l;
  l.fake_root = root;
  l.mode = Mode::v2;
  l.v2_mount = root + "/v2";
  fs::mkdir_p(l.v2_mount);
  v2_files(l.v2_mount, kV2Controllers, true);
  l.v2_controllers = words(kV2Controllers);
  return l;
}

Layout Layout::fake_hybrid(const std::string& root, const std::vector<std::string>& controllers) {
  Layout l = make_fake_v1(root, controllers);
  l.mode = Mode::hybrid;
  l.v2_mount = root + "/unified";
  fs::mkdir_p(l.v2_mount);
  v2_files(l.v2_mount, "", true);
  return l;
}

void fake_kernel_mkdir(const Layout& l, const std::string& dir) {
  if (under(dir, l.v2_mount)) {
    std::string enabled;
    for (const auto& c : words(fs::read_file(fs::dirname(dir) + "/cgroup.subtree_control")))
      enabled += (enabled.empty() ? "" : " ") + c;
    v2_files(dir, enabled, false);
    return;
  }
  for (const std::string& root : l.v1_roots()) {
    if (!under(dir, root)) continue;
    std::vector<std::string> names;
    for (const auto& [name, mount] : l.v1_mounts)
      if (mount == root) names.push_back(name);
    v1_files(dir, names, false);
    return;
  }
}

void fake_kernel_write(const Layout& l, const std::string& file, const std::string& value) {
  const std::string name = fs::basename(file);
  const std::string dir = fs::dirname(file);
  auto old = fs::read_file_if_exists(file);
  if (!old) throw_errno("write " + value + " to " + file, ENOENT);
  std::string content = value + "\n";
  if (name == "cgroup.procs" || name == "devices.allow" || name == "devices.deny") {
    content = *old + value + "\n";
  } else if (name == "cgroup.subtree_control") {
    // "+memory -pids": each must be offered to this cgroup (else ENOENT, as the kernel); the
    // children then show the files of the controllers enabled for them.
    std::set<std::string> on = words(*old);
    std::set<std::string> offered =
        words(fs::read_file(dir == l.v2_mount ? dir + "/cgroup.controllers" : fs::dirname(dir) + "/cgroup.subtree_control"));
    for (const std::string& w : words(value)) {
      std::string c = w.substr(1);
      if (!offered.count(c)) throw_errno("write " + value + " to " + file, ENOENT);
      if (w[0] == '+') on.insert(c);
      else on.erase(c);
    }
    content.clear();
    for (const auto& c : on) content += (content.empty() ? "" : " ") + c;
    for (const std::string& child : fs::list_dir(dir)) {
      if (!fs::is_dir(dir + "/" + child)) continue;
      put(dir + "/" + child, "cgroup.controllers", content + "\n");
      for (const auto& c : on) v2_controller_files(dir + "/" + child, c);
    }
    content += "\n";
  } else if (name == "cgroup.freeze") {
    put(dir, "cgroup.events", std::string("populated 0\nfrozen ") + (value == "1" ? "1" : "0") + "\n");
  }
  put(dir, name, content);
  std::string rel = file.substr(std::min(file.size(), l.fake_root.size() + 1));
  std::string log = l.fake_root + "/writes.log";
  UniqueFd lf(::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!lf) throw_errno("open " + log);
  std::string line = rel + " " + value + "\n";
  if (::write(lf.get(), line.data(), line.size()) < 0) throw_errno("write " + log);
}

}  // namespace ecsa::cgroups
