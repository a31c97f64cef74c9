#include "cli/args.hpp"

#include "common/error.hpp"

namespace ecsa::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<FlagSpec>& specs,
           bool stop_at_positional)
    : specs_(specs) {
  bool only_positional = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (only_positional || a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);
      if (stop_at_positional) only_positional = true;
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const FlagSpec* spec = find(name);
    if (!spec) throw Error("unknown flag " + a + " (see --help)");
    auto& slot = values_[spec->names[0]];
    if (spec->takes_value) {
      if (inline_value) {
        slot.push_back(*inline_value);
      } else {
        if (i + 1 >= argv.size()) throw Error("flag " + a + " needs a value");
        slot.push_back(argv[++i]);
      }
    } else {
      // Boolean flags accept --flag=true|false like urfave/cli.
      if (inline_value && *inline_value == "false") {
        values_.erase(spec->names[0]);
      } else {
        slot.push_back("true");
      }
    }
  }
}

const FlagSpec* Args::find(const std::string& name) const {
  for (const auto& s : specs_)
    for (const auto& n : s.names)
      if (n == name) return &s;
  return nullptr;
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::optional<std::string> Args::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Args::value_or(const std::string& name, const std::string& def) const {
  auto v = value(name);
  return v ? *v : def;
}

std::vector<std::string> Args::values(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

}  // namespace ecsa::cli
