// Container lifecycle, as the OCI runtime spec and runc define it: create leaves the init
// blocked before it execs the user's process until start; state, kill and delete work after
// the process died; nothing resident is needed between commands.
#pragma once
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/json_node.hpp"
#include "runtime/state.hpp"

namespace ecsa::runtime {

inline constexpr const char* kDefaultRoot = "/run/ecsa";
inline constexpr const char* kOciVersion = "1.0.2";

struct CreateOptions {
  std::string root = kDefaultRoot;
  std::string id;
  std::string bundle;
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  int preserve_fds = 0;
  // The container's stdin, stdout and stderr; -1 keeps the caller's (runc's behaviour).
  int stdio[3] = {-1, -1, -1};
  // Called in the parent once the init exists in its namespaces, before it mounts anything
  // and before the hooks: the place for network setup. It may record what it made in
  // state.extra.
  std::function<void(pid_t init_pid, ContainerState& state)> on_namespaces_ready;
  // Undoes on_namespaces_ready when create fails after it ran.
  std::function<void(const ContainerState& state)> on_create_failed;
};

// Returns the init's pid (a child of the caller until the caller exits).
pid_t create_container(const CreateOptions& opts);
void start_container(const std::string& root, const std::string& id);
// The runtime-spec state document: ociVersion, id, status, pid, bundle, annotations.
json::Json container_state(const std::string& root, const std::string& id);
void kill_container(const std::string& root, const std::string& id, int sig, bool all);
// Removes the cgroup and the state, runs poststop hooks; --force kills a running container.
// `on_removed` undoes what on_namespaces_ready made (network), given the saved state.
void delete_container(const std::string& root, const std::string& id, bool force,
                      const std::function<void(const ContainerState&)>& on_removed = {});
// create + start; in the foreground waits, forwards signals, deletes the container and returns
// its exit status (128+signal when killed).
int run_container(const CreateOptions& opts, bool detach,
                  const std::function<void(const ContainerState&)>& on_removed = {});

// Waits for our child `pid` (a container's init), forwarding SIGINT, SIGTERM, SIGHUP, SIGQUIT,
// SIGUSR1/2 and SIGWINCH to it; returns its exit status, 128+signal when killed.
int wait_forwarding_signals(pid_t pid);

struct ContainerSummary {
  ContainerState state;
  Status status;
};
std::vector<ContainerSummary> list_containers(const std::string& root);
std::vector<pid_t> container_pids(const std::string& root, const std::string& id);

// Signal names ("TERM", "SIGTERM", "15") to numbers; Error on an unknown one.
int parse_signal(const std::string& s);

}  // namespace ecsa::runtime
