// Reading JSON documents with errors that name the JSON path, e.g.
// `containerDefinitions[1].portMappings[0].hostPort: expected an integer, got "abc"`.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ecsa::json {

using Json = nlohmann::json;

// Parses `text`; a syntax error reads "<source>: invalid JSON at line L, column C: <detail>".
Json parse(std::string_view text, const std::string& source);

// A short rendering of a value for error messages: "abc" quoted, numbers as is, {…}.
std::string describe(const Json& v);

// A value inside a document together with its JSON path.
class Node {
 public:
  Node(const Json& v, std::string path) : v_(&v), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  const Json& raw() const { return *v_; }
  bool is_null() const { return v_->is_null(); }

  // Object member; absent or null gives std::nullopt. Fails if this is not an object.
  std::optional<Node> opt(std::string_view key) const;
  // Object member that must be present and not null.
  Node at(std::string_view key) const;
  // Elements of an array (fails if not an array); null gives an empty list.
  std::vector<Node> items() const;
  // Members of an object (fails if not an object); null gives an empty list.
  std::vector<std::pair<std::string, Node>> members() const;

  std::string str() const;
  int64_t i64() const;
  uint64_t u64() const;
  int64_t int_in(int64_t lo, int64_t hi) const;
  double num() const;
  bool boolean() const;
  std::vector<std::string> strings() const;
  std::map<std::string, std::string> string_map() const;

  // Convenience for optional scalar members.
  std::string str_or(std::string_view key, std::string def) const;
  int64_t i64_or(std::string_view key, int64_t def) const;
  bool bool_or(std::string_view key, bool def) const;

  // Throws Error("<path>: <msg>").
  [[noreturn]] void fail(std::string_view msg) const;
  // Throws Error("<path>: expected <what>, got <value>").
  [[noreturn]] void expected(std::string_view what) const;

 private:
  std::string child_path(std::string_view key) const;
  const Json* v_;
  std::string path_;
};

}  // namespace ecsa::json
