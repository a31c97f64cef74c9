// Finds the cgroup hierarchies of this host in /proc/self/mountinfo, once per process.
#include <set>
#include <sstream>

#include "cgroups/cgroups.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace ecsa::cgroups {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const char a = s[i + 1], b = s[i + 2], c = s[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' && c <= '7') {
        out += static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0'));
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

// Super options of a v1 mount that are not controllers.
bool is_mount_flag(const std::string& opt) {
  static const std::set<std::string> flags = {"rw", "ro", "none", "xattr", "noprefix", "clone_children",
                                              "cpuset_v2_mode", "favordynmods"};
  if (opt.rfind("name=", 0) == 0) return false;
  return flags.count(opt) > 0 || opt.find('=') != std::string::npos || opt.empty();
}

}  // namespace

Layout Layout::parse_mountinfo(const std::string& mountinfo) {
  Layout l;
  // A hierarchy may be mounted more than once (bind mounts); the mount of its root wins.
  std::set<std::string> v1_from_root;
  bool v2_from_root = false;
  std::istringstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superopts
    std::vector<std::string> f = split(line, ' ');
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i)
      if (f[i] == "-") {
        dash = i;
        break;
      }
    if (dash == 0 || dash + 1 >= f.size()) continue;
    const std::string& fstype = f[dash + 1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    const bool at_root = f[3] == "/";
    std::string mount_point = unescape(f[4]);
    if (fstype == "cgroup2") {
      if (l.v2_mount.empty() || (at_root && !v2_from_root)) {
        l.v2_mount = mount_point;
        v2_from_root = at_root;
      }
      continue;
    }
    std::string super = dash + 3 < f.size() ? f[dash + 3] : "";
    for (const std::string& opt : split(super, ',')) {
      if (is_mount_flag(opt)) continue;
      auto it = l.v1_mounts.find(opt);
      if (it == l.v1_mounts.end() || (at_root && !v1_from_root.count(opt))) {
        l.v1_mounts[opt] = mount_point;
        if (at_root) v1_from_root.insert(opt);
      }
    }
  }
  bool any_v1_controller = false;
  for (const auto& [name, mount] : l.v1_mounts) any_v1_controller |= name.rfind("name=", 0) != 0;
  if (!any_v1_controller && !l.v2_mount.empty()) {
    l.mode = Mode::v2;
    l.v1_mounts.clear();  // a lone name=systemd v1 hierarchy next to v2 is not ours to use
  } else {
    l.mode = l.v2_mount.empty() ? Mode::v1 : Mode::hybrid;
  }
  return l;
}

const Layout& Layout::host() {
  static const Layout layout = [] {
    Layout l = parse_mountinfo(fs::read_file("/proc/self/mountinfo"));
    if (!l.v2_mount.empty()) {
      auto c = fs::read_file_if_exists(l.v2_mount + "/cgroup.controllers");
      std::istringstream in(c.value_or(""));
      std::string name;
      while (in >> name) l.v2_controllers.insert(name);
    }
    log::debug(std::string("cgroup layout: ") +
               (l.mode == Mode::v1 ? "v1" : l.mode == Mode::v2 ? "v2" : "hybrid") +
               (l.v2_mount.empty() ? "" : ", cgroup2 at " + l.v2_mount));
    return l;
  }();
  return layout;
}

std::string Layout::v1_mount(const std::string& controller) const {
  if (mode == Mode::v2) return "";
  auto it = v1_mounts.find(controller);
  return it == v1_mounts.end() ? "" : it->second;
}

std::vector<std::string> Layout::v1_roots() const {
  std::vector<std::string> out;
  if (mode == Mode::v2) return out;
  std::set<std::string> seen;
  for (const auto& [name, mount] : v1_mounts)
    if (seen.insert(mount).second) out.push_back(mount);
  return out;
}

}  // namespace ecsa::cgroups
