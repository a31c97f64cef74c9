#include "common/json_node.hpp"

#include "common/error.hpp"

namespace ecsa::json {

Json parse(std::string_view text, const std::string& source) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // Turn the byte offset into line and column, which is what a person looks for.
    size_t line = 1, col = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string detail = e.what();
    auto pos = detail.find("parse error");
    if (pos != std::string::npos) detail = detail.substr(pos);
    throw Error(source + ": invalid JSON at line " + std::to_string(line) + ", column " +
                std::to_string(col) + ": " + detail);
  }
}

std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::null:
      return "null";
    default: {
      std::string s = v.dump();
      if (s.size() > 60) s = s.substr(0, 57) + "...";
      return s;
    }
  }
}

std::string Node::child_path(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

void Node::fail(std::string_view msg) const {
  throw Error((path_.empty() ? std::string("(document)") : path_) + ": " + std::string(msg));
}

void Node::expected(std::string_view what) const {
  fail("expected " + std::string(what) + ", got " + describe(*v_));
}

std::optional<Node> Node::opt(std::string_view key) const {
  if (!v_->is_object()) expected("an object");
  auto it = v_->find(key);
  if (it == v_->end() || it->is_null()) return std::nullopt;
  return Node(*it, child_path(key));
}

Node Node::at(std::string_view key) const {
  auto n = opt(key);
  if (!n) {
    throw Error(child_path(key) + ": required field is missing");
  }
  return *n;
}

std::vector<Node> Node::items() const {
  std::vector<Node> out;
  if (v_->is_null()) return out;
  if (!v_->is_array()) expected("an array");
  out.reserve(v_->size());
  for (size_t i = 0; i < v_->size(); ++i)
    out.emplace_back((*v_)[i], path_ + "[" + std::to_string(i) + "]");
  return out;
}

std::vector<std::pair<std::string, Node>> Node::members() const {
  std::vector<std::pair<std::string, Node>> out;
  if (v_->is_null()) return out;
  if (!v_->is_object()) expected("an object");
  for (auto it = v_->begin(); it != v_->end(); ++it)
    out.emplace_back(it.key(), Node(it.value(), child_path(it.key())));
  return out;
}

std::string Node::str() const {
  if (!v_->is_string()) expected("a string");
  return v_->get<std::string>();
}

int64_t Node::i64() const {
  if (v_->is_number_integer()) return v_->get<int64_t>();
  if (v_->is_number_float()) {
    double d = v_->get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  expected("an integer");
}

uint64_t Node::u64() const {
  if (v_->is_number_unsigned()) return v_->get<uint64_t>();
  if (v_->is_number_integer() || v_->is_number_float()) {
    int64_t v = i64();
    if (v < 0) expected("a non-negative integer");
    return static_cast<uint64_t>(v);
  }
  expected("a non-negative integer");
}

int64_t Node::int_in(int64_t lo, int64_t hi) const {
  int64_t v = i64();
  if (v < lo || v > hi)
    fail("expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
         ", got " + std::to_string(v));
  return v;
}

double Node::num() const {
  if (!v_->is_number()) expected("a number");
  return v_->get<double>();
}

bool Node::boolean() const {
  if (!v_->is_boolean()) expected("true or false");
  return v_->get<bool>();
}

std::vector<std::string> Node::strings() const {
  std::vector<std::string> out;
  for (const auto& n : items()) out.push_back(n.str());
  return out;
}

std::map<std::string, std::string> Node::string_map() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, n] : members()) out[k] = n.str();
  return out;
}

std::string Node::str_or(std::string_view key, std::string def) const {
  auto n = opt(key);
  return n ? n->str() : def;
}

int64_t Node::i64_or(std::string_view key, int64_t def) const {
  auto n = opt(key);
  return n ? n->i64() : def;
}

bool Node::bool_or(std::string_view key, bool def) const {
  auto n = opt(key);
  return n ? n->boolean() : def;
}

}  // namespace ecsa::json
