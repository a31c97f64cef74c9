// What `task run` was given, saved in the task directory so that the supervisor (a fresh
// process) plans the task exactly as the command did: the task definition document, the
// RunTask overrides, --env, and the directory relative environmentFiles are read from.
#pragma once
#include <string>

#include "common/json_node.hpp"
#include "ecs/task_definition.hpp"
#include "ecs/task_plan.hpp"

namespace ecsa::ecs {

struct TaskInput {
  json::Json task_definition;
  json::Json overrides;  // null when none
  EnvList extra_env;
  std::string base_dir;
  std::string default_family;  // the file's name, for definitions without a family

  json::Json to_json() const;
  static TaskInput from_json(const json::Json& j, const std::string& source);
  // The plan, with the agent settings of the current environment.
  TaskPlan plan() const;
};

}  // namespace ecsa::ecs
