// Reading one JSON object of a task definition while noting which members were used, so
// that the members nobody read can be reported as "unknown field, ignored" warnings.
#pragma once
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::ecs {

class Fields {
 public:
  // Fails with "<path>: expected an object, got ..." if `node` is not an object.
  Fields(const json::Node& node, std::vector<std::string>& warnings);
  // Warns about every non-null member that was not read.
  ~Fields();
  Fields(const Fields&) = delete;
  Fields& operator=(const Fields&) = delete;

  const json::Node& node() const { return node_; }
  std::optional<json::Node> opt(std::string_view key);
  json::Node at(std::string_view key);
  // Known members that ecsa does not need (read-only describe output, scheduler hints).
  void ignore(std::initializer_list<std::string_view> keys);
  // A member that must not be set (null, [] and {} are fine): "<path>.<key>: <why>".
  void reject(std::string_view key, const std::string& why);
  // Warns now about the members not read yet (instead of at destruction).
  void finish();

 private:
  json::Node node_;
  std::vector<std::string>& warnings_;
  std::set<std::string, std::less<>> used_;
  bool finished_ = false;
};

// Appends "<path>: <msg>" to warnings and logs it.
void add_warning(std::vector<std::string>& warnings, const std::string& msg);

}  // namespace ecsa::ecs
