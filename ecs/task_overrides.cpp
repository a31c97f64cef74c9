#include "ecs/task_overrides.hpp"

#include "ecs/json_fields.hpp"

namespace ecsa::ecs {

using json::Json;
using json::Node;

namespace {

constexpr const char* kExternal = "is not supported on ECS Anywhere (EXTERNAL instances)";

// Environment entries replace those of the same name, others are appended.
void merge_environment(Json& container, const Node& list, std::vector<std::string>& warnings) {
  Json& env = container["environment"];
  if (!env.is_array()) env = Json::array();
  for (const auto& item : list.items()) {
    Fields f(item, warnings);
    std::string name = f.at("name").str();
    std::string value;
    if (auto v = f.opt("value")) value = v->str();
    bool replaced = false;
    for (auto& e : env) {
      if (e.is_object() && e.value("name", Json()).is_string() && e["name"] == name) {
        e["value"] = value;
        replaced = true;
      }
    }
    if (!replaced) env.push_back(Json{{"name", name}, {"value", value}});
  }
}

}  // namespace

void apply_task_overrides(Json& taskdef, const Json& overrides,
                          std::vector<std::string>& warnings) {
  if (overrides.is_null()) return;
  Node root(overrides, "overrides");
  Fields f(root, warnings);
  if (auto cpu = f.opt("cpu")) {
    if (!cpu->raw().is_string() && !cpu->raw().is_number_integer())
      cpu->expected("a string or an integer");
    taskdef["cpu"] = cpu->raw();
  }
  if (auto mem = f.opt("memory")) {
    if (!mem->raw().is_string() && !mem->raw().is_number_integer())
      mem->expected("a string or an integer");
    taskdef["memory"] = mem->raw();
  }
  if (auto v = f.opt("taskRoleArn")) taskdef["taskRoleArn"] = v->str();
  if (auto v = f.opt("executionRoleArn")) taskdef["executionRoleArn"] = v->str();
  if (auto v = f.opt("inferenceAcceleratorOverrides"); v && !v->items().empty())
    v->fail(std::string("Elastic Inference accelerators ") + kExternal);
  f.reject("ephemeralStorage", std::string("ephemeral storage (Fargate only) ") + kExternal);

  if (auto list = f.opt("containerOverrides")) {
    Json& containers = taskdef["containerDefinitions"];
    for (const auto& item : list->items()) {
      Fields cf(item, warnings);
      auto name_node = cf.at("name");
      std::string name = name_node.str();
      Json* target = nullptr;
      if (containers.is_array())
        for (auto& c : containers)
          if (c.is_object() && c.value("name", Json()) == Json(name)) target = &c;
      if (!target) name_node.fail("no container \"" + name + "\" in the task definition");
      if (auto v = cf.opt("command")) {
        v->strings();
        (*target)["command"] = v->raw();
      }
      if (auto v = cf.opt("environment")) merge_environment(*target, *v, warnings);
      if (auto v = cf.opt("environmentFiles")) {
        // Files given at run time come first, so they win over the definition's.
        Json files = v->raw();
        if (!files.is_array()) v->expected("an array");
        Json& existing = (*target)["environmentFiles"];
        if (existing.is_array())
          for (const auto& e : existing) files.push_back(e);
        existing = files;
      }
      for (const char* key : {"cpu", "memory", "memoryReservation"}) {
        if (auto v = cf.opt(key)) {
          v->int_in(0, INT32_MAX);
          (*target)[key] = v->raw();
        }
      }
      if (auto v = cf.opt("resourceRequirements"); v && !v->items().empty())
        v->fail("GPU and accelerator requirements are not supported by ecsa");
    }
  }
}

}  // namespace ecsa::ecs
