// Builds the OCI runtime config.json for a container started from an image (`ecsa-run run
// IMAGE`, and the task runner): Docker's defaults (capabilities, mounts, masked paths) plus
// what the caller decided (process, limits, mounts). The caller merges the image config first.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/json_node.hpp"
#include "oci/runtime_spec.hpp"

namespace ecsa::oci {

// A host device made available in the container (docker --device HOST:CONTAINER:PERMS).
struct DeviceMapping {
  std::string host_path;
  std::string container_path;
  std::string permissions = "rwm";
};

struct ContainerConfig {
  std::vector<std::string> args;  // entrypoint + cmd, already merged with the image's
  std::vector<std::string> env;   // "K=V"
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string hostname;
  bool terminal = false;
  bool read_only_root = false;
  bool privileged = false;
  bool no_new_privileges = false;
  std::vector<std::string> capabilities;       // the final set ("CAP_KILL", ...), all five sets
  int64_t memory_limit = 0;        // bytes, 0 = none
  int64_t memory_reservation = 0;  // bytes
  int64_t memory_swap = 0;         // memory+swap bytes; 0 = Docker's default (2x memory), -1 = unlimited
  uint64_t cpu_shares = 0;
  int64_t cpu_quota = 0;           // microseconds per period, 0 = none
  uint64_t cpu_period = 0;
  int64_t pids_limit = 0;
  int64_t shm_size = 0;            // bytes, 0 = 64 MiB
  std::vector<Mount> mounts;       // added after the defaults (bind, tmpfs, ...)
  std::vector<DeviceMapping> devices;  // the host node is looked at now (type, numbers, mode)
  std::vector<json::Json> rlimits; // OCI rlimit objects
  std::map<std::string, std::string> sysctl;
  std::map<std::string, std::string> annotations;
  // Namespaces: "" = a new one; a path = join it; "host" = share the runtime's.
  std::string network_ns, pid_ns, ipc_ns;
  std::string cgroups_path;        // default /ecsa/<id>
};

json::Json build_runtime_config(const ContainerConfig& c, const std::string& rootfs);

}  // namespace ecsa::oci
