#include "ecs/json_fields.hpp"

#include <exception>

#include "common/log.hpp"

namespace ecsa::ecs {

void add_warning(std::vector<std::string>& warnings, const std::string& msg) {
  warnings.push_back(msg);
  log::warn(msg);
}

Fields::Fields(const json::Node& node, std::vector<std::string>& warnings)
    : node_(node), warnings_(warnings) {
  if (!node.raw().is_object()) node.expected("an object");
}

Fields::~Fields() {
  // Only when no exception is in flight: a failed parse reports its error alone.
  if (!finished_ && std::uncaught_exceptions() == 0) finish();
}

std::optional<json::Node> Fields::opt(std::string_view key) {
  used_.emplace(key);
  return node_.opt(key);
}

json::Node Fields::at(std::string_view key) {
  used_.emplace(key);
  return node_.at(key);
}

void Fields::ignore(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) used_.emplace(k);
}

void Fields::reject(std::string_view key, const std::string& why) {
  used_.emplace(key);
  // Empty lists and objects (as describe-task-definition prints them) ask for nothing.
  if (auto n = node_.opt(key); n && !((n->raw().is_array() || n->raw().is_object()) && n->raw().empty()))
    n->fail(why);
}

void Fields::finish() {
  finished_ = true;
  for (const auto& [key, value] : node_.raw().items()) {
    if (value.is_null() || used_.count(key)) continue;
    std::string path = node_.path().empty() ? key : node_.path() + "." + key;
    add_warning(warnings_, path + ": unknown field, ignored");
  }
}

}  // namespace ecsa::ecs
