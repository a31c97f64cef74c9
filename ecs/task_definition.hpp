// Reading an ECS task definition and turning it into a TaskPlan: validation with errors
// that name the JSON path, "unknown field" warnings, features ECS Anywhere lacks
// rejected, RunTask overrides applied, and the translation the ECS backend, agent and
// Docker would do (see /work/shared/reference/ecs-task-semantics.md).
#pragma once
#include <string>

#include "common/json_node.hpp"
#include "ecs/agent_config.hpp"
#include "ecs/task_plan.hpp"

namespace ecsa::ecs {

struct PlanOptions {
  AgentConfig agent;
  // A RunTask `overrides` document ({"containerOverrides": [...], "cpu", "memory"}), or null.
  json::Json overrides;
  // --env K=V: set in every container, wins over everything else.
  EnvList extra_env;
  // Relative environmentFiles paths are taken from here (the task definition's directory).
  // Empty: "." for plan_task, the file's directory for plan_task_file.
  std::string base_dir;
};

// `doc` is one of: a RegisterTaskDefinition input ({"family", "containerDefinitions"...}),
// `aws ecs describe-task-definition` output ({"taskDefinition": {...}}), or an array of
// container definitions.
TaskPlan plan_task(const json::Json& doc, const PlanOptions& opts);

// Reads and plans a file; base_dir defaults to the file's directory, and the family of a
// bare container array defaults to the file name without .json.
TaskPlan plan_task_file(const std::string& path, PlanOptions opts);

// Task cpu as the API takes it: 256, "256", "0.25 vCPU", "1 vcpu" -> CPU units.
int64_t parse_task_cpu(const json::Node& n);
// Task memory: 512, "512", "1GB", "0.5 GB" -> MiB.
int64_t parse_task_memory(const json::Node& n);

}  // namespace ecsa::ecs
