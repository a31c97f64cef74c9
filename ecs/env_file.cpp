#include "ecs/env_file.hpp"

namespace ecsa::ecs {

EnvList parse_env_file(std::string_view text, const std::string& source,
                       std::vector<std::string>& warnings) {
  EnvList out;
  size_t lineno = 0;
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    // As Docker's env-file reader: leading blanks and a CR line end dropped, the value
    // kept verbatim (trailing blanks and quotes included).
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    std::string where = source + ":" + std::to_string(lineno);
    if (eq == std::string_view::npos) {
      warnings.push_back(where + ": no '=' in line, ignored");
      continue;
    }
    std::string name(line.substr(0, eq));
    if (name.empty()) {
      warnings.push_back(where + ": empty variable name, ignored");
      continue;
    }
    if (name.find_first_of(" \t") != std::string::npos) {
      warnings.push_back(where + ": variable name \"" + name + "\" contains blanks, ignored");
      continue;
    }
    // Within one file the last definition wins, like a shell sourcing it.
    env_set(out, name, std::string(line.substr(eq + 1)));
  }
  return out;
}

}  // namespace ecsa::ecs
