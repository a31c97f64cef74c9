// Reading one container definition (internal to the task definition reader): per-field
// validation here, the checks across containers in task_definition.cpp.
#pragma once
#include <string>
#include <vector>

#include "common/json_node.hpp"
#include "ecs/agent_config.hpp"
#include "ecs/task_plan.hpp"

namespace ecsa::ecs {

// What a container definition needs from its task.
struct TaskContext {
  NetworkMode network_mode = NetworkMode::bridge;
  std::string ipc_mode;
  const AgentConfig* agent = nullptr;
  std::string base_dir = ".";
  const EnvList* extra_env = nullptr;
  std::vector<std::string>* warnings = nullptr;
};

// JSON paths of the references a container makes, for the checks across containers.
struct ContainerRefs {
  std::string path;                       // containerDefinitions[i]
  std::vector<std::string> depends_on;    // paths of dependsOn[j]
  std::vector<std::string> links;         // paths of links[j]
  std::vector<std::string> volumes_from;  // paths of volumesFrom[j]
  std::vector<std::string> mounts;        // paths of mountPoints[j]
  std::vector<std::string> ports;         // paths of portMappings[j]
  bool has_memory = false;                // memory or memoryReservation was written
};

ContainerPlan parse_container_definition(const json::Node& n, const TaskContext& ctx,
                                         ContainerRefs& refs);

}  // namespace ecsa::ecs
