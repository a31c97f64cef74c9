// The OCI runtime-spec config.json (1.x), parsed once into plain structs. Errors name the JSON
// path ("process.user.uid: expected a non-negative integer, got -1").
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"
#include "common/json_node.hpp"

namespace ecsa::oci {

struct User {
  uint32_t uid = 0, gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Process {
  bool terminal = false;
  uint32_t console_height = 0, console_width = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile, selinux_label;
  // Raw sections handed to the capability/rlimit units (runtime/), which own their parsing.
  std::optional<json::Json> capabilities;
  std::optional<json::Json> rlimits;
};

struct Mount {
  std::string destination, type, source;
  std::vector<std::string> options;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join when non-empty
};

struct IdMapping {
  uint32_t container_id = 0, host_id = 0, size = 0;
};

struct Device {
  std::string path, type;  // type: c b u p
  int64_t major = 0, minor = 0;
  std::optional<uint32_t> file_mode, uid, gid;
};

struct Hook {
  std::string path;
  std::vector<std::string> args, env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  cgroups::Resources resources;
  bool has_resources = false;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::string mount_label;
  std::optional<json::Json> seccomp;  // handed to runtime/seccomp
  bool has_namespace(const std::string& type) const;
  const Namespace* find_namespace(const std::string& type) const;
};

struct Spec {
  std::string oci_version;
  std::string root_path;  // absolute after load (resolved against the bundle)
  bool root_readonly = false;
  std::optional<Process> process;
  std::string hostname, domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
};

// Parses a config document. `bundle` resolves a relative root.path.
Spec parse_spec(const json::Json& doc, const std::string& bundle);
// Reads BUNDLE/config.json and parses it.
Spec load_spec(const std::string& bundle);

// Mount options -> flags, as mount(8) understands them. Unknown options are kept as data
// (passed to the filesystem), propagation options are returned separately.
struct MountFlags {
  unsigned long flags = 0;          // MS_* applied at mount time
  unsigned long clear = 0;          // flags an option explicitly clears (rw, suid, ...)
  unsigned long propagation = 0;    // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (+MS_REC)
  std::string data;                 // "mode=755,size=65536k"
  bool bind = false, recursive = false;
};
MountFlags parse_mount_options(const std::vector<std::string>& options);

// Default config.json for `spec` (like `runc spec`).
json::Json default_spec(bool rootless);

}  // namespace ecsa::oci
