// OCI lifecycle hooks: each hook runs with the container state JSON on its stdin, and is
// killed when its timeout expires.
#pragma once
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace ecsa::runtime {

// Runs hooks in order; the first failure throws Error("<kind> hook <path>: ..."), except for
// poststart and poststop hooks: each failure is logged as a warning and the next hook runs.
void run_hooks(const char* kind, const std::vector<oci::Hook>& hooks, const std::string& state_json);

json::Json hooks_to_json(const std::vector<oci::Hook>& hooks);
std::vector<oci::Hook> hooks_from_json(const json::Json& j);

}  // namespace ecsa::runtime
