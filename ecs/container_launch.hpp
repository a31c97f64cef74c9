// Containers from images: one ContainerPlan (a container of a task, or `ecsa-run run IMAGE`)
// becomes a rootfs from the image store, an OCI bundle, bridge networking and a created
// container. The task runner and the Docker-like verbs share it.
#pragma once
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "ecs/agent_config.hpp"
#include "ecs/task_plan.hpp"
#include "net/network.hpp"
#include "oci/image_store.hpp"
#include "oci/progress.hpp"

namespace ecsa::ecs {

// Annotations that mark containers made from images (`ecsa-run ps` lists those).
inline constexpr const char* kImageAnnotation = "ecsa.image";
inline constexpr const char* kNameAnnotation = "ecsa.name";
inline constexpr const char* kTaskAnnotation = "ecsa.task";
// Asks the runtime for its minimal init as PID 1 (initProcessEnabled, docker --init).
inline constexpr const char* kInitAnnotation = "ecsa.init";
// The signal `stop` sends first: the image's StopSignal (Docker's rule), SIGTERM by default.
inline constexpr const char* kStopSignalAnnotation = "ecsa.stopSignal";

// Finds the image in the store, pulling it as the pull behaviour says (default: pull when
// missing; always: pull every time, falling back to a cached copy only for prefer-cached).
oci::ImageRecord ensure_image(oci::ImageStore& store, const std::string& ref,
                              ImagePullBehavior behavior, oci::Progress* progress);

struct LaunchOptions {
  std::string id;                 // runtime container id
  std::string runtime_root;       // --root of the runtime (default /run/ecsa)
  std::string cgroup_path;        // default /ecsa/<id>
  NetworkMode network_mode = NetworkMode::bridge;
  int64_t cpu_quota_us = 0;       // `run --cpus`: the container's own CFS quota
  int stdio[3] = {-1, -1, -1};    // the process's stdin/stdout/stderr; -1: inherit
  // Task runner: volume name -> host directory (the plan's mountPoints are bound from it).
  std::map<std::string, std::string> volume_sources;
  // Extra /etc/hosts entries "name:ip" (links to other containers of the task).
  std::vector<std::string> link_hosts;
  // Namespaces: "" new, "host", or a /proc/<pid>/ns/<type> path to join (pidMode/ipcMode task).
  std::string pid_ns, ipc_ns;
  std::string task_id;  // set for containers of a task (annotation ecsa.task)
  // Network mode container:<id>: share that running container's network namespace (and its
  // /etc/hosts and /etc/resolv.conf, as Docker does); nothing is set up for this one.
  std::string network_container;
  // A restarted task container keeps its filesystem (restartPolicy restarts the same
  // container): its prepared rootfs, used instead of a new one.
  std::string existing_rootfs;
};

struct Launched {
  pid_t pid = 0;
  std::string bundle;
  net::NetworkState network;
};

// Creates (does not start) the container. On failure nothing is left behind.
Launched create_from_plan(oci::ImageStore& store, const oci::ImageRecord& image,
                          const ContainerPlan& plan, const LaunchOptions& opts);

// Deletes the container (killing it), its network, its rootfs and bundle. Missing parts are fine.
void remove_launched(oci::ImageStore& store, const std::string& runtime_root, const std::string& id);

// Directory of a launched container's own files (bundle, etc files, log).
std::string container_files_dir(const oci::ImageStore& store, const std::string& id);

}  // namespace ecsa::ecs
