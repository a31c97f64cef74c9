// A small command-line parser with runc's conventions: flags may be written -f, --flag,
// -flag or --flag=value, may repeat, and stop at "--" or (for verbs that take a command)
// at the first positional argument.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ecsa::cli {

struct FlagSpec {
  std::vector<std::string> names;  // e.g. {"bundle", "b"}
  bool takes_value = false;
};

class Args {
 public:
  // Parses argv[first..]. Unknown flags throw Error("unknown flag ...").
  // stop_at_positional: everything after the first positional argument is positional
  // (for `run IMAGE ARG...`).
  Args(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
       bool stop_at_positional = false);

  bool has(const std::string& name) const;
  std::optional<std::string> value(const std::string& name) const;
  std::string value_or(const std::string& name, const std::string& def) const;
  std::vector<std::string> values(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  const FlagSpec* find(const std::string& name) const;
  std::vector<FlagSpec> specs_;
  std::map<std::string, std::vector<std::string>> values_;  // keyed by specs[].names[0]
  std::vector<std::string> positional_;
};

}  // namespace ecsa::cli
