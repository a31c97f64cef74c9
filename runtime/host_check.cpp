#include "runtime/host_check.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>

#include "common/fs.hpp"

namespace ecsa::runtime {

const char* to_string(CheckStatus s) {
  switch (s) {
    case CheckStatus::ok:
      return "ok";
    case CheckStatus::missing:
      return "missing";
    case CheckStatus::warning:
      return "warning";
  }
  return "?";
}

bool any_required_missing(const std::vector<CheckResult>& results) {
  return std::any_of(results.begin(), results.end(), [](const CheckResult& r) {
    return r.required && r.status == CheckStatus::missing;
  });
}

// ---------------------------------------------------------------- parsers

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::vector<std::string> split_on(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// mountinfo writes space, tab, newline and backslash in paths as \040 style octal.
std::string decode_octal_escapes(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + i + 1, s.begin() + i + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

std::vector<CgroupControllerInfo> parse_proc_cgroups(std::string_view text) {
  std::vector<CgroupControllerInfo> out;
  for (auto line : split_lines(text)) {
    if (line.empty() || line[0] == '#') continue;
    auto f = split_fields(line);
    if (f.size() < 4) continue;
    CgroupControllerInfo c;
    c.name = f[0];
    c.hierarchy = std::atoi(f[1].c_str());
    c.enabled = f[3] == "1";
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo) {
  // "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:14 - cgroup cgroup rw,memory"
  std::vector<CgroupMount> out;
  for (auto line : split_lines(mountinfo)) {
    auto f = split_fields(line);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string& fstype = *(dash + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    CgroupMount m;
    m.mount_point = decode_octal_escapes(f[4]);
    m.version = fstype == "cgroup2" ? 2 : 1;
    m.options = split_on(*(dash + 3), ',');
    out.push_back(std::move(m));
  }
  return out;
}

std::string kernel_config_value(std::string_view config, std::string_view option) {
  for (auto line : split_lines(config)) {
    if (line.size() <= option.size() || line.substr(0, option.size()) != option ||
        line[option.size()] != '=')
      continue;
    std::string_view v = line.substr(option.size() + 1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
  }
  return "";
}

// ---------------------------------------------------------------- the host's files

namespace {

const char* kYoctoHint = "Yocto: put it in a kernel config fragment (.cfg) of your layer";

std::string config_remedy(const std::string& options) {
  return "rebuild the kernel with " + options + " (" + kYoctoHint + ")";
}

// Decompresses a gzip file (/proc/config.gz) with libarchive's raw format.
std::optional<std::string> read_gzip_file(const std::string& path) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  if (!a) return std::nullopt;
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 16384) != ARCHIVE_OK) return std::nullopt;
  archive_entry* entry = nullptr;
  if (archive_read_next_header(a.get(), &entry) != ARCHIVE_OK) return std::nullopt;
  std::string out;
  char buf[16384];
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class Host {
 public:
  explicit Host(const HostCheckOptions& o) : opts_(o) {
    release_ = o.kernel_release;
    if (release_.empty()) {
      utsname u{};
      if (::uname(&u) == 0) release_ = u.release;
    }
  }

  const HostCheckOptions& opts() const { return opts_; }
  const std::string& release() const { return release_; }
  bool is_real_root() const { return opts_.root == "/" || opts_.root.empty(); }

  // The file `p` (an absolute host path) inside the root.
  std::string path(std::string_view p) const {
    if (is_real_root()) return std::string(p);
    std::string r = opts_.root;
    while (r.size() > 1 && r.back() == '/') r.pop_back();
    return r + std::string(p);
  }

  // Contents, or nullopt when missing or unreadable: a check reports "not found" then.
  std::optional<std::string> read(std::string_view p) const {
    try {
      return fs::read_file_if_exists(path(p));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  std::string read_or_empty(std::string_view p) const { return read(p).value_or(""); }

  bool exists(std::string_view p) const {
    struct stat st {};
    return ::lstat(path(p).c_str(), &st) == 0;
  }
  bool is_dir(std::string_view p) const { return fs::is_dir(path(p)); }
  std::vector<std::string> list(std::string_view p) const {
    try {
      return fs::list_dir(path(p));
    } catch (const std::exception&) {
      return {};
    }
  }

  // The kernel's build configuration: /proc/config.gz or /boot/config-<release>.
  const std::optional<std::string>& config() {
    if (!config_loaded_) {
      config_loaded_ = true;
      if (auto text = read_gzip_file(path("/proc/config.gz"))) {
        config_ = std::move(text);
        config_source_ = "/proc/config.gz";
      } else if (auto plain = read("/boot/config-" + release_)) {
        config_ = std::move(plain);
        config_source_ = "/boot/config-" + release_;
      }
    }
    return config_;
  }
  const std::string& config_source() {
    config();
    return config_source_;
  }

  std::string modules_dir() const { return "/lib/modules/" + release_; }

 private:
  HostCheckOptions opts_;
  std::string release_;
  bool config_loaded_ = false;
  std::optional<std::string> config_;
  std::string config_source_;
};

// ---------------------------------------------------------------- kernel features

// Is there a line in modules.builtin / modules.dep for module `name` (e.g.
// "kernel/drivers/net/veth.ko.xz: ...")? Returns the module's path.
std::optional<std::string> find_module_line(const std::string& text, std::string_view name) {
  auto norm = [](std::string s) {
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
  };
  std::string want = norm(std::string(name));
  for (auto line : split_lines(text)) {
    std::string_view p = line.substr(0, line.find(':'));
    std::string base = fs::basename(std::string(p));
    size_t ko = base.find(".ko");
    if (ko == std::string::npos) continue;
    if (norm(base.substr(0, ko)) == want) return std::string(p);
  }
  return std::nullopt;
}

struct Feature {
  bool present = false;
  std::string detail;
  std::string remedy;  // when not present
};

// A kernel feature that may be built in or a module: loaded (/sys/module), the kernel
// config (=y built in, =m module), or the module lists under /lib/modules/<release>.
Feature kernel_feature(Host& host, const std::string& module, const std::string& option,
                       const std::string& extra_options = "") {
  Feature f;
  std::string options = option + "=y" + (extra_options.empty() ? "" : ", " + extra_options);
  std::string modules = host.modules_dir();
  std::string modprobe = "modprobe " + module;
  if (host.exists("/sys/module/" + module)) {
    f.present = true;
    f.detail = "loaded (/sys/module/" + module + ")";
    return f;
  }
  auto builtin = host.read(modules + "/modules.builtin");
  auto dep = host.read(modules + "/modules.dep");
  if (const auto& config = host.config()) {
    std::string v = kernel_config_value(*config, option);
    if (v == "y") {
      f.present = true;
      f.detail = "built in (" + option + "=y in " + host.config_source() + ")";
    } else if (v == "m") {
      if (dep && find_module_line(*dep, module)) {
        f.present = true;
        f.detail = "module " + module + " (" + option + "=m), loaded on first use";
      } else {
        f.detail = option + "=m in " + host.config_source() + " but " + module +
                   ".ko is not listed in " + modules + "/modules.dep";
        f.remedy = "install the kernel's modules (Debian: the linux-image package of " +
                   host.release() + "; Yocto: kernel-module-" + module + "), then " + modprobe;
      }
    } else {
      f.detail = option + " is not set in " + host.config_source();
      f.remedy = config_remedy(options);
    }
    return f;
  }
  if (builtin) {
    if (auto p = find_module_line(*builtin, module)) {
      f.present = true;
      f.detail = "built in (" + *p + " in " + modules + "/modules.builtin)";
      return f;
    }
  }
  if (dep) {
    if (auto p = find_module_line(*dep, module)) {
      f.present = true;
      f.detail = "module available: " + modules + "/" + *p + ", loaded on first use";
      return f;
    }
  }
  f.detail = "not loaded (no /sys/module/" + module + "), no kernel config to read " +
             "(/proc/config.gz, /boot/config-" + host.release() + ") and not listed in " + modules;
  f.remedy = modprobe + "; if that fails, " + config_remedy(options);
  return f;
}

CheckResult result(std::string name, bool required) {
  CheckResult r;
  r.name = std::move(name);
  r.required = required;
  return r;
}

// ---------------------------------------------------------------- namespaces

void check_namespaces(Host& host, std::vector<CheckResult>& out) {
  struct Spec {
    const char* name;
    const char* file;
    bool required;
    const char* config;
    const char* use;
  };
  static const Spec specs[] = {
      {"user", "user", false, "CONFIG_USER_NS=y",
       "only user-namespaced (rootless) containers need it"},
      {"pid", "pid", true, "CONFIG_PID_NS=y", "every container has its own process tree"},
      {"net", "net", true, "CONFIG_NET_NS=y", "bridge and none network modes"},
      {"ipc", "ipc", true, "CONFIG_IPC_NS=y", "every container has its own SysV IPC"},
      {"uts", "uts", true, "CONFIG_UTS_NS=y", "container hostnames"},
      {"mount", "mnt", true, nullptr, "every container has its own mounts"},
      {"cgroup", "cgroup", false, "CONFIG_CGROUPS=y (kernel 4.6 or later)",
       "a private view of /sys/fs/cgroup when the spec asks for it"},
  };
  bool proc_ns = host.is_dir("/proc/self/ns");
  for (const auto& s : specs) {
    CheckResult r = result(std::string("namespace.") + s.name, s.required);
    std::string file = std::string("/proc/self/ns/") + s.file;
    if (host.exists(file)) {
      r.detail = file;
    } else {
      r.status = CheckStatus::missing;
      if (!proc_ns) {
        r.detail = "/proc/self/ns not found: is /proc mounted?";
        r.remedy = "mount -t proc proc /proc";
      } else {
        r.detail = "no " + file + " (" + s.use + ")";
        r.remedy = s.config ? config_remedy(std::string(s.config) + " and CONFIG_NAMESPACES=y")
                            : "mount -t proc proc /proc";
      }
    }
    out.push_back(std::move(r));
  }

  CheckResult r = result("user_namespaces", false);
  const std::string knob = "/proc/sys/user/max_user_namespaces";
  auto text = host.read(knob);
  if (!text) {
    r.status = CheckStatus::missing;
    r.detail = "no " + knob + " (only user-namespaced containers need it)";
    r.remedy = config_remedy("CONFIG_USER_NS=y");
  } else {
    long n = std::atol(text->c_str());
    r.detail = "user.max_user_namespaces=" + std::to_string(n);
    if (n <= 0) {
      r.status = CheckStatus::missing;
      r.detail += " (only user-namespaced containers need it)";
      r.remedy = "sysctl -w user.max_user_namespaces=15000 (to keep it: a file in /etc/sysctl.d/)";
    }
  }
  out.push_back(std::move(r));
}

// ---------------------------------------------------------------- cgroups

struct CgroupView {
  std::vector<CgroupControllerInfo> kernel;  // /proc/cgroups
  std::vector<CgroupMount> v1;               // v1 mounts that carry controllers
  std::optional<CgroupMount> v2;             // the cgroup2 mount, if any
  std::vector<std::string> v2_controllers;   // its cgroup.controllers
  bool have_proc_cgroups = false;

  const CgroupControllerInfo* info(std::string_view name) const {
    for (const auto& c : kernel)
      if (c.name == name) return &c;
    return nullptr;
  }
  const CgroupMount* v1_mount(std::string_view controller) const {
    for (const auto& m : v1)
      if (contains(m.options, controller)) return &m;
    return nullptr;
  }
  bool pure_v2() const { return v2 && v1.empty(); }
  std::string layout() const {
    if (v2 && !v1.empty()) return "hybrid";
    if (v2) return "v2";
    if (!v1.empty()) return "v1";
    return "none";
  }
};

CgroupView read_cgroups(Host& host) {
  CgroupView v;
  if (auto text = host.read("/proc/cgroups")) {
    v.have_proc_cgroups = true;
    v.kernel = parse_proc_cgroups(*text);
  }
  for (auto& m : parse_cgroup_mounts(host.read_or_empty("/proc/self/mountinfo"))) {
    if (m.version == 2) {
      // The first cgroup2 mount is the unified hierarchy; later ones are bind mounts.
      if (!v.v2) v.v2 = m;
      continue;
    }
    bool has_controller =
        std::any_of(m.options.begin(), m.options.end(), [&](const std::string& o) {
          return std::any_of(v.kernel.begin(), v.kernel.end(),
                             [&](const CgroupControllerInfo& c) { return c.name == o; });
        });
    bool duplicate = std::any_of(v.v1.begin(), v.v1.end(),
                                 [&](const CgroupMount& x) { return x.options == m.options; });
    if (has_controller && !duplicate) v.v1.push_back(std::move(m));
  }
  if (v.v2)
    v.v2_controllers = split_fields(host.read_or_empty(v.v2->mount_point + "/cgroup.controllers"));
  return v;
}

std::string kernel_cmdline_remedy(Host& host, const std::string& controller) {
  std::string cmdline = host.read_or_empty("/proc/cmdline");
  bool pi =
      host.read_or_empty("/proc/device-tree/model").find("Raspberry Pi") != std::string::npos ||
      host.read_or_empty("/sys/firmware/devicetree/base/model").find("Raspberry Pi") !=
          std::string::npos;
  std::string file = "/boot/firmware/cmdline.txt";
  if (!host.exists(file) && host.exists("/boot/cmdline.txt")) file = "/boot/cmdline.txt";
  std::string params = controller == "memory" ? "cgroup_enable=memory cgroup_memory=1"
                                              : "cgroup_enable=" + controller;
  std::string remedy;
  if (cmdline.find("cgroup_disable=" + controller) != std::string::npos)
    remedy = "remove cgroup_disable=" + controller + " from the kernel command line and ";
  if (pi)
    remedy += "append `" + params + "` to the single line of " + file;
  else
    remedy += "add `" + params + "` to the kernel command line (Raspberry Pi: " + file +
              "; GRUB: GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub)";
  if (controller == "memory") remedy += ", plus `systemd.unified_cgroup_hierarchy=0` for cgroup v1";
  remedy += ", then reboot";
  return remedy;
}

void check_cgroups(Host& host, std::vector<CheckResult>& out) {
  CgroupView v = read_cgroups(host);

  CheckResult layout = result("cgroup.hierarchy", true);
  std::string kind = v.layout();
  if (kind == "none") {
    layout.status = CheckStatus::missing;
    layout.detail = "no cgroup or cgroup2 file system in /proc/self/mountinfo";
    layout.remedy = "mount cgroup2: mount -t cgroup2 none /sys/fs/cgroup (systemd does it at boot)";
  } else {
    std::vector<std::string> v1_points;
    for (const auto& m : v.v1) v1_points.push_back(m.mount_point);
    std::string d = kind + ": ";
    if (!v1_points.empty()) d += "cgroup v1 controllers at " + join(v1_points, ", ");
    if (v.v2) {
      if (!v1_points.empty()) d += "; ";
      d += "cgroup2 at " + v.v2->mount_point +
           " (controllers: " + (v.v2_controllers.empty() ? "none" : join(v.v2_controllers, " ")) +
           ")";
    }
    layout.detail = d;
  }
  out.push_back(std::move(layout));

  struct Spec {
    const char* name;
    const char* v2_name;  // nullptr: no v2 controller; the core does it (see below)
    bool required;
    const char* config;
    const char* use;
  };
  static const Spec specs[] = {
      {"memory", "memory", true, "CONFIG_MEMCG=y", "memory limits and OOM reporting"},
      {"cpu", "cpu", true, "CONFIG_CGROUP_SCHED=y and CONFIG_FAIR_GROUP_SCHED=y",
       "cpu shares and quotas"},
      {"cpuacct", nullptr, false, "CONFIG_CGROUP_CPUACCT=y", "cpu usage statistics"},
      {"cpuset", "cpuset", false, "CONFIG_CPUSETS=y", "cpu and memory node pinning"},
      {"pids", "pids", false, "CONFIG_CGROUP_PIDS=y", "process count limits"},
      {"devices", nullptr, false, "CONFIG_CGROUP_DEVICE=y", "device access control"},
      {"freezer", nullptr, false, "CONFIG_CGROUP_FREEZER=y", "pause and resume"},
      {"blkio", "io", false, "CONFIG_BLK_CGROUP=y", "block I/O weights and limits"},
      {"hugetlb", "hugetlb", false, "CONFIG_CGROUP_HUGETLB=y", "huge page limits"},
  };
  for (const auto& s : specs) {
    CheckResult r = result(std::string("cgroup.") + s.name, s.required);
    const CgroupControllerInfo* info = v.info(s.name);
    if (const CgroupMount* m = v.v1_mount(s.name)) {
      r.detail = "cgroup v1 at " + m->mount_point;
    } else if (v.v2 && s.v2_name && contains(v.v2_controllers, s.v2_name)) {
      r.detail = std::string("cgroup v2 (") + s.v2_name + " in " + v.v2->mount_point +
                 "/cgroup.controllers)";
    } else if (v.pure_v2() && !s.v2_name) {
      // cgroup v2 has no such controller: the core does the job.
      if (std::string_view(s.name) == "cpuacct")
        r.detail = "cgroup v2: cpu usage is in every cgroup's cpu.stat";
      else if (std::string_view(s.name) == "devices")
        r.detail = "cgroup v2: device access is controlled with eBPF programs (CONFIG_CGROUP_BPF)";
      else
        r.detail = "cgroup v2: every cgroup has cgroup.freeze";
    } else {
      r.status = CheckStatus::missing;
      std::string use = std::string(" (") + s.use + ")";
      if (v.have_proc_cgroups && !info) {
        r.detail =
            std::string("the kernel has no ") + s.name + " controller (not in /proc/cgroups)" + use;
        r.remedy = config_remedy(s.config);
      } else if (info && !info->enabled) {
        r.detail = std::string(s.name) + " controller disabled (enabled=0 in /proc/cgroups)" + use;
        r.remedy = kernel_cmdline_remedy(host, s.name);
      } else if (info && info->hierarchy > 0) {
        r.detail = std::string(s.name) + " controller is on cgroup v1 hierarchy " +
                   std::to_string(info->hierarchy) + " but mounted nowhere" + use;
        r.remedy = std::string("mount -t cgroup -o ") + s.name + " cgroup /sys/fs/cgroup/" + s.name;
      } else if (v.v2 && s.v2_name) {
        r.detail =
            std::string(s.v2_name) + " not in " + v.v2->mount_point + "/cgroup.controllers" + use;
        r.remedy = info ? kernel_cmdline_remedy(host, s.name) : config_remedy(s.config);
      } else {
        r.detail = std::string(s.name) + " controller not mounted" + use;
        r.remedy = std::string("mount -t cgroup -o ") + s.name + " cgroup /sys/fs/cgroup/" + s.name;
      }
    }
    out.push_back(std::move(r));
  }

  // CFS bandwidth control: what ECS task-level cpu limits become (cpu quota).
  CheckResult q = result("cgroup.cpu_quota", true);
  const std::string quota_remedy =
      config_remedy("CONFIG_CFS_BANDWIDTH=y (with CONFIG_FAIR_GROUP_SCHED=y)");
  const std::string why = " (ECS task and container cpu limits)";
  if (const CgroupMount* m = v.v1_mount("cpu")) {
    std::string file = m->mount_point + "/cpu.cfs_quota_us";
    if (host.exists(file)) {
      q.detail = file;
    } else {
      q.status = CheckStatus::missing;
      q.detail = "no " + file + why;
      q.remedy = quota_remedy;
    }
  } else if (v.v2 && contains(v.v2_controllers, "cpu")) {
    // The root cgroup has no cpu.max; a child with the cpu controller does.
    std::string found;
    for (const auto& child : host.list(v.v2->mount_point)) {
      std::string file = v.v2->mount_point + "/" + child + "/cpu.max";
      if (host.exists(file)) {
        found = file;
        break;
      }
    }
    std::string cfg =
        host.config() ? kernel_config_value(*host.config(), "CONFIG_CFS_BANDWIDTH") : "";
    if (!found.empty()) {
      q.detail = found;
    } else if (cfg == "y") {
      q.detail = "CONFIG_CFS_BANDWIDTH=y in " + host.config_source();
    } else if (host.config()) {
      q.status = CheckStatus::missing;
      q.detail = "CONFIG_CFS_BANDWIDTH is not set in " + host.config_source() + why;
      q.remedy = quota_remedy;
    } else {
      q.status = CheckStatus::warning;
      q.detail = "could not verify: no child cgroup of " + v.v2->mount_point +
                 " has cpu.max and there is no kernel config to read" + why;
      q.remedy = "make sure the kernel has CONFIG_CFS_BANDWIDTH=y";
    }
  } else {
    q.status = CheckStatus::missing;
    q.detail = "needs the cpu controller, which is missing" + why;
    q.remedy = "see cgroup.cpu; " + quota_remedy;
  }
  out.push_back(std::move(q));
}

// ---------------------------------------------------------------- file systems, security

void check_overlayfs(Host& host, std::vector<CheckResult>& out) {
  CheckResult r = result("overlayfs", false);
  bool registered = false;
  const std::string filesystems = host.read_or_empty("/proc/filesystems");
  for (auto line : split_lines(filesystems)) {
    auto f = split_fields(line);
    if (!f.empty() && f.back() == "overlay") registered = true;
  }
  if (registered) {
    r.detail = "overlay in /proc/filesystems";
  } else {
    Feature f = kernel_feature(host, "overlay", "CONFIG_OVERLAY_FS");
    if (f.present) {
      r.detail = "not in /proc/filesystems yet; " + f.detail;
    } else {
      r.status = CheckStatus::missing;
      r.detail = "overlay not in /proc/filesystems; " + f.detail +
                 " (without it container root file systems are flattened copies of the layers:"
                 " more disk, slower start)";
      r.remedy = f.remedy;
    }
  }
  out.push_back(std::move(r));
}

// seccomp(SECCOMP_SET_MODE_FILTER) with a NULL program: the kernel copies the program
// before anything else, so EFAULT means filters are supported, and nothing is installed.
std::optional<int> probe_seccomp_filter() {
#ifdef SYS_seccomp
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, nullptr);
  if (rc == 0) return 0;  // cannot happen with a NULL program
  return errno;
#else
  return std::nullopt;
#endif
}

void check_seccomp(Host& host, std::vector<CheckResult>& out) {
  CheckResult r = result("seccomp", true);
  const std::string remedy = config_remedy("CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y");
  std::string status = host.read_or_empty("/proc/self/status");
  bool field = status.find("\nSeccomp:") != std::string::npos;
  if (host.opts().live_probes) {
    std::optional<int> err = probe_seccomp_filter();
    if (err && *err == EFAULT) {
      r.detail = "seccomp(2) accepts filters (probe with an empty program: EFAULT)";
    } else if (err && *err == EINVAL) {
      r.status = CheckStatus::missing;
      r.detail =
          std::string("seccomp(2) rejects filter mode (EINVAL): ") +
          (field ? "CONFIG_SECCOMP is on but CONFIG_SECCOMP_FILTER is off" : "no seccomp support");
      r.remedy = remedy;
    } else if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
      r.status = CheckStatus::missing;
      r.detail = "prctl(PR_GET_SECCOMP): EINVAL: the kernel has no seccomp";
      r.remedy = remedy;
    } else {
      r.detail = std::string("prctl(PR_GET_SECCOMP) works; the filter probe said ") +
                 (err ? std::strerror(*err) : "nothing (no seccomp syscall number)");
    }
  } else if (field) {
    r.detail = "Seccomp field in /proc/self/status";
    if (host.config()) {
      std::string v = kernel_config_value(*host.config(), "CONFIG_SECCOMP_FILTER");
      if (v != "y") {
        r.status = CheckStatus::missing;
        r.detail += ", but CONFIG_SECCOMP_FILTER is not set in " + host.config_source();
        r.remedy = remedy;
      }
    }
  } else {
    r.status = CheckStatus::missing;
    r.detail = "no Seccomp field in /proc/self/status: the kernel has no seccomp";
    r.remedy = remedy;
  }
  out.push_back(std::move(r));
}

// ---------------------------------------------------------------- networking

// Asks nf_tables for the rule-set generation (NFT_MSG_GETGEN): a read that changes
// nothing. Returns 0 when the kernel answered, else the errno (EPERM without
// CAP_NET_ADMIN, EINVAL/EOPNOTSUPP/ENOENT when nf_tables is not there).
int probe_nftables() {
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_NETFILTER),
                                                       mnl_socket_close);
  if (!nl) return errno;
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return errno;
  timeval tv{1, 0};  // never hang the check on a silent kernel
  ::setsockopt(mnl_socket_get_fd(nl.get()), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  unsigned seq = static_cast<unsigned>(::time(nullptr));
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) return errno;

  bool got_generation = false;
  auto on_msg = [](const nlmsghdr* m, void* data) -> int {
    if ((m->nlmsg_type & 0xff) == NFT_MSG_NEWGEN) *static_cast<bool*>(data) = true;
    return MNL_CB_OK;
  };
  unsigned portid = mnl_socket_get_portid(nl.get());
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return errno;
    int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, portid, on_msg, &got_generation);
    if (rc == MNL_CB_ERROR) return errno;
    if (rc == MNL_CB_STOP) break;
  }
  return got_generation ? 0 : ENOMSG;
}

void check_nftables(Host& host, std::vector<CheckResult>& out) {
  CheckResult r = result("nftables", true);
  const std::string nat_options =
      "CONFIG_NF_TABLES_INET=y, CONFIG_NF_TABLES_IPV4=y, CONFIG_NFT_NAT=y, CONFIG_NFT_MASQ=y, "
      "CONFIG_NFT_CT=y";
  std::string probe_note;
  if (host.opts().live_probes) {
    int err = probe_nftables();
    if (err == 0) {
      r.detail = "the kernel answered an nf_tables query (NFT_MSG_GETGEN)";
    } else {
      probe_note = std::string("nf_tables query failed: ") + std::strerror(err) + "; ";
    }
  }
  if (r.detail.empty()) {
    Feature f = kernel_feature(host, "nf_tables", "CONFIG_NF_TABLES", nat_options);
    r.detail = probe_note + f.detail;
    if (!f.present) {
      r.status = CheckStatus::missing;
      r.remedy = f.remedy;
    }
  }
  // NAT for port mappings and masquerading needs these expressions too.
  if (r.status == CheckStatus::ok && host.config()) {
    std::vector<std::string> unset;
    for (const char* opt : {"CONFIG_NFT_NAT", "CONFIG_NFT_MASQ", "CONFIG_NFT_CT"})
      if (kernel_config_value(*host.config(), opt).empty()) unset.push_back(opt);
    if (!unset.empty()) {
      r.status = CheckStatus::missing;
      r.detail += "; not set in " + host.config_source() + ": " + join(unset, ", ") +
                  " (port mappings and masquerading)";
      r.remedy = config_remedy(nat_options);
    }
  }
  if (r.status != CheckStatus::ok) r.detail += " (bridge networking: port mappings, masquerading)";
  out.push_back(std::move(r));
}

// RTM_NEWLINK of `kind` on an rtnetlink socket of the calling process's namespace.
int create_link(const std::string& kind) {
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_ROUTE),
                                                       mnl_socket_close);
  if (!nl) return errno;
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) return errno;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
  nlh->nlmsg_seq = 1;
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "ecsaprobe0");
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind.c_str());
  mnl_attr_nest_end(nlh, info);
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0) return errno;
  ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
  if (n < 0) return errno;
  if (mnl_cb_run(buf.data(), static_cast<size_t>(n), 1, mnl_socket_get_portid(nl.get()), nullptr,
                 nullptr) == MNL_CB_ERROR)
    return errno;
  return 0;
}

// The files may not tell (a built-in driver without parameters has no /sys/module entry,
// and small systems ship neither a kernel config nor /lib/modules): then ask the kernel.
void probe_when_unsure(Host& host, const std::string& kind, Feature& f) {
  if (f.present || !host.opts().live_probes) return;
  int err = probe_link_kind(kind);
  if (err == 0) {
    f.present = true;
    f.detail = "the kernel created a " + kind + " link in a throwaway network namespace";
    f.remedy.clear();
  } else {
    f.detail += std::string("; creating a ") + kind +
                " link in a throwaway network namespace failed: " + std::strerror(err);
  }
}

void check_link_kinds(Host& host, std::vector<CheckResult>& out) {
  {
    CheckResult r = result("bridge", true);
    std::string existing;
    for (const auto& dev : host.list("/sys/class/net"))
      if (host.is_dir("/sys/class/net/" + dev + "/bridge")) existing = dev;
    if (!existing.empty()) {
      r.detail = "bridge " + existing + " exists";
    } else {
      Feature f = kernel_feature(host, "bridge", "CONFIG_BRIDGE");
      probe_when_unsure(host, "bridge", f);
      r.detail = f.detail;
      if (!f.present) {
        r.status = CheckStatus::missing;
        r.remedy = f.remedy;
      }
    }
    if (r.status != CheckStatus::ok) r.detail += " (bridge network mode)";
    out.push_back(std::move(r));
  }
  {
    CheckResult r = result("veth", true);
    Feature f = kernel_feature(host, "veth", "CONFIG_VETH");
    probe_when_unsure(host, "veth", f);
    r.detail = f.detail;
    if (!f.present) {
      r.detail += " (container ends of bridge networks)";
      r.status = CheckStatus::missing;
      r.remedy = f.remedy;
    }
    out.push_back(std::move(r));
  }
  {
    CheckResult r = result("ip_forward", false);
    const std::string knob = "/proc/sys/net/ipv4/ip_forward";
    auto text = host.read(knob);
    auto fields = split_fields(text.value_or(""));
    std::string v = fields.empty() ? "" : fields[0];
    if (v == "1") {
      r.detail = "net.ipv4.ip_forward=1";
    } else {
      r.status = CheckStatus::warning;
      r.detail =
          text ? "net.ipv4.ip_forward=" + v + ": ecsa turns it on when it sets up a bridge network"
               : "no " + knob + " (no IPv4?)";
      r.remedy =
          "nothing needed; to have it on from boot: net.ipv4.ip_forward=1 in a file in "
          "/etc/sysctl.d/";
    }
    out.push_back(std::move(r));
  }
}

}  // namespace

int probe_link_kind(const std::string& kind) {
  pid_t pid = ::fork();
  if (pid < 0) return errno;
  if (pid == 0) {
    int err = ::unshare(CLONE_NEWNET) != 0 ? errno : create_link(kind);
    ::_exit(err > 0 && err < 256 ? err : (err == 0 ? 0 : 255));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return errno;
  }
  if (!WIFEXITED(status)) return ECHILD;
  return WEXITSTATUS(status);
}

std::vector<CheckResult> check_host(const HostCheckOptions& opts) {
  Host host(opts);
  std::vector<CheckResult> out;
  check_namespaces(host, out);
  check_cgroups(host, out);
  check_overlayfs(host, out);
  check_seccomp(host, out);
  check_nftables(host, out);
  check_link_kinds(host, out);
  return out;
}

}  // namespace ecsa::runtime
