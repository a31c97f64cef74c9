#include "ecs/task_input.hpp"

namespace ecsa::ecs {

json::Json TaskInput::to_json() const {
  json::Json env = json::Json::array();
  for (const auto& [k, v] : extra_env) env.push_back({k, v});
  return {{"taskDefinition", task_definition},
          {"overrides", overrides},
          {"env", env},
          {"baseDir", base_dir},
          {"defaultFamily", default_family}};
}

TaskInput TaskInput::from_json(const json::Json& j, const std::string& source) {
  json::Node n(j, source);
  TaskInput in;
  in.task_definition = n.at("taskDefinition").raw();
  if (auto o = n.opt("overrides")) in.overrides = o->raw();
  if (auto e = n.opt("env"))
    for (const auto& kv : e->items()) {
      auto pair = kv.strings();
      if (pair.size() != 2) kv.expected("[name, value]");
      in.extra_env.emplace_back(pair[0], pair[1]);
    }
  in.base_dir = n.str_or("baseDir", "");
  in.default_family = n.str_or("defaultFamily", "");
  return in;
}

TaskPlan TaskInput::plan() const {
  PlanOptions opts;
  opts.agent = agent_config_from_environment();
  opts.overrides = overrides;
  opts.extra_env = extra_env;
  opts.base_dir = base_dir;
  TaskPlan p = plan_task(task_definition, opts);
  if (p.family.empty()) p.family = default_family;
  return p;
}

}  // namespace ecsa::ecs
