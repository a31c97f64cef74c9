// Running another process inside a running container (`runc exec`): the ECS supervisor's
// health checks and `ecsa-runc exec`. The new process joins everything the container's init
// has (namespaces, cgroup) and gets the restrictions of the container's process (user,
// capabilities, noNewPrivileges, rlimits, seccomp) from its config.json.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json_node.hpp"
#include "runtime/container.hpp"

namespace ecsa::runtime {

struct ExecOptions {
  std::string root = kDefaultRoot;   // runtime --root (runtime/container.hpp)
  std::string id;                     // container id
  std::vector<std::string> args;      // argv; args[0] resolved in the container's PATH
  std::vector<std::string> env;       // "K=V"; empty: the container process's env (config.json)
  std::string cwd;                    // empty: the container process's cwd
  std::optional<uint32_t> uid, gid;   // unset: the container process's user
  std::vector<uint32_t> additional_gids;
  int stdio[3] = {-1, -1, -1};        // -1: inherit the caller's
};

// Starts args inside the running container `id`: all its namespaces (pid, mnt, net, ipc, uts,
// cgroup, user when present), its cgroup, the process user, capabilities, noNewPrivileges,
// rlimits and seccomp filter of its config.json. Returns the pid of the new process, which is a
// child of the caller (waitpid works on it). Errors (container not running, exec failure in the
// child such as "exec foo: No such file or directory") are thrown as ecsa::Error by this call,
// reported from the child side over a pipe/socket before it returns.
pid_t exec_process(const ExecOptions& opts);

// The env of the container's process (config.json of its bundle), e.g. as the base that
// `exec --env` adds to.
std::vector<std::string> container_process_env(const std::string& root, const std::string& id);

// `base` with each "K=V" of `overrides` replacing the entry of the same K or appended.
std::vector<std::string> merge_env(std::vector<std::string> base, const std::vector<std::string>& overrides);

// Fills args, env, cwd, user (uid, gid, additionalGids) of `opts` from an OCI process object
// (`runc exec --process FILE`). A terminal is refused; capabilities, rlimits, noNewPrivileges
// and labels come from the container's config.json regardless (logged at debug).
void exec_options_from_process(const json::Node& process, ExecOptions& opts);

}  // namespace ecsa::runtime
