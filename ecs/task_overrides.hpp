// RunTask-style overrides (`--overrides JSON`): containerOverrides[] (command,
// environment, environmentFiles, cpu, memory, memoryReservation) and the task cpu/memory,
// applied to the task definition document before it is read, so that every rule of the
// task definition also holds for the overridden values.
#pragma once
#include <string>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::ecs {

// `taskdef` is the task definition object (containerDefinitions inside). Errors name the
// overrides path, e.g. "overrides.containerOverrides[0].name: no container \"x\" in the
// task definition".
void apply_task_overrides(json::Json& taskdef, const json::Json& overrides,
                          std::vector<std::string>& warnings);

}  // namespace ecsa::ecs
