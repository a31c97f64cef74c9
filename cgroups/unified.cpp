// linux.resources.unified: v2 "file" -> "value" pairs, written as given (runc semantics).
#include "cgroups/controller.hpp"
#include "common/error.hpp"

namespace ecsa::cgroups {

void check_unified_keys(const std::map<std::string, std::string>& unified) {
  for (const auto& [key, value] : unified) {
    // A key names a file of this cgroup, never a path elsewhere.
    if (key.empty() || key.find('/') != std::string::npos || key[0] == '.')
      throw Error("linux.resources.unified: invalid key \"" + key + "\"");
  }
}

void apply_unified(const Dir& d, const std::map<std::string, std::string>& unified) {
  check_unified_keys(unified);
  for (const auto& [key, value] : unified) {
    if (!d.has(key))
      throw Error("linux.resources.unified." + key + ": no " + d.file(key) +
                  " (controller not enabled or not supported by the kernel)");
    d.write(key, value);
  }
}

}  // namespace ecsa::cgroups
