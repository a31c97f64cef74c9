// Everything the container's init (the child side of clone) needs, prepared by the parent
// before clone so that the child only applies it: no parsing and no lookups on the child side.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "oci/runtime_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/rlimits.hpp"
#include "runtime/seccomp.hpp"

namespace ecsa::runtime {

struct InitContext {
  const oci::Spec* spec = nullptr;
  std::string id;
  std::string bundle;
  std::string rootfs;
  std::string fifo_path;            // exec fifo on the host
  int fifo_fd = -1;                 // its read end, opened by the parent (non-blocking)
  int console_socket = -1;          // connected --console-socket, or -1
  bool no_pivot = false;
  int preserve_fds = 0;             // fds 3..3+N-1 are passed to the process
  int stdio[3] = {-1, -1, -1};      // dup2'ed onto 0, 1, 2 when >= 0
  bool new_userns = false;
  bool new_cgroupns = false;
  bool parent_first = true;         // wait for the parent's go before mounting
  // (subdirectory under the cgroup mount, host directory of the container's cgroup)
  std::vector<std::pair<std::string, std::string>> cgroup_binds;
  bool cgroup_v2_only = false;
  std::optional<CapabilitySets> caps;
  std::vector<Rlimit> rlimits;
  const SeccompFilter* seccomp = nullptr;
  std::string exec_path;            // resolved in the child after pivot_root
};

// Child side of clone. Never returns: execs the process or _exits after reporting the error.
[[noreturn]] void container_init(InitContext& ctx, int sync_fd);

}  // namespace ecsa::runtime
