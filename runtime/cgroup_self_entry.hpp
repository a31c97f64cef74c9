// The container's init enters its cgroup v1 hierarchies itself, right after clone.
//
// Moving another process (a pid written to cgroup.procs) takes the kernel's global
// threadgroup lock for writing, and that waits for an RCU grace period: 5-15 ms on a small
// VM, the slowest step of a container start. A thread that writes "0" (itself) to a v1
// hierarchy's "tasks" file is moved without that lock. The init is single-threaded and still
// a host process in the host's user namespace at that point, so the result is the same: the
// init and all it starts are in the container's cgroup before anything of the container runs.
#pragma once
#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"

namespace ecsa::runtime {

// The "tasks" files the init writes itself into: every v1 hierarchy of `cg`. Empty when
// the parent has to move it (a new user namespace has no right to the host's cgroup files;
// a fake layout of the tests).
std::vector<std::string> self_entry_files(const cgroups::Layout& layout, const cgroups::Cgroup& cg,
                                          bool new_userns);

// In the init, first thing after clone: writes "0" to each file. On failure the message is
// sent to the parent over `sync_fd` as an error and the init exits.
void enter_cgroups_self(const std::vector<std::string>& tasks_files, int sync_fd);

// In the parent: what the init does not do itself (the v2 hierarchy of a hybrid layout, or
// everything when `tasks_files` is empty).
void attach_rest(cgroups::Cgroup& cg, const cgroups::Layout& layout,
                 const std::vector<std::string>& tasks_files, pid_t pid);

}  // namespace ecsa::runtime
