// `ecsa-run check`: does this host's kernel have what ecsa needs (namespaces, cgroup
// controllers, CFS bandwidth, overlayfs, seccomp, nftables, bridge, veth), and if not,
// what to do about it (kernel command line, modprobe, or the Yocto CONFIG_ option).
//
// The facts are read from files under a root directory (normally "/") so that tests can
// describe another host (a Raspberry Pi with the memory controller off, a pure cgroup v2
// box) with a directory tree. A few facts are asked of the running kernel directly (the
// "live probes": seccomp(2), an nf_tables netlink query); they are off for such trees.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsa::runtime {

enum class CheckStatus { ok, missing, warning };
const char* to_string(CheckStatus s);

struct CheckResult {
  std::string name;  // "namespace.pid", "cgroup.memory", "nftables", ...
  CheckStatus status = CheckStatus::ok;
  bool required = true;  // a missing required feature makes `check` exit 1
  std::string detail;    // what was found, and where
  std::string remedy;    // what to do; empty when ok
};

struct HostCheckOptions {
  std::string root = "/";      // where proc/, sys/, boot/, lib/modules/ are read from
  bool live_probes = true;     // ask the running kernel too (only meaningful for root "/")
  std::string kernel_release;  // for /boot/config-R and /lib/modules/R; empty: uname -r
};

// All checks, in a stable order. Never throws for a missing feature; unreadable files
// count as "not found" and say so in the detail.
std::vector<CheckResult> check_host(const HostCheckOptions& opts = {});

// True when some required check is missing.
bool any_required_missing(const std::vector<CheckResult>& results);

// ---- Parsers of the kernel's files, exposed for tests ----

// A line of /proc/cgroups: "memory 4 32 1".
struct CgroupControllerInfo {
  std::string name;
  int hierarchy = 0;  // 0: not bound to a v1 hierarchy (unused, or on cgroup v2)
  bool enabled = false;
};
std::vector<CgroupControllerInfo> parse_proc_cgroups(std::string_view text);

// A cgroup or cgroup2 mount from /proc/self/mountinfo.
struct CgroupMount {
  std::string mount_point;           // octal escapes decoded
  int version = 1;                   // 1: "cgroup", 2: "cgroup2"
  std::vector<std::string> options;  // super options, e.g. {"rw", "cpu", "cpuacct"}
};
std::vector<CgroupMount> parse_cgroup_mounts(std::string_view mountinfo);

// Creates a link of `kind` ("veth", "bridge") in a throwaway network namespace of a child
// process (the namespace, and the link, vanish when the child exits). Returns 0 when the
// kernel made it, the errno otherwise (EOPNOTSUPP: unknown kind; EPERM: not privileged).
int probe_link_kind(const std::string& kind);

// Value of `option` (e.g. "CONFIG_VETH") in a kernel .config text: "y", "m", a string, or
// "" when it is absent or "# ... is not set".
std::string kernel_config_value(std::string_view config, std::string_view option);

}  // namespace ecsa::runtime
