// Linux capabilities of the container process: reading process.capabilities of an OCI
// config and applying the five sets in the container's child process.
#pragma once
#include <string>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::runtime {

// Capability numbers (CAP_CHOWN = 0, ...), each set sorted and without duplicates.
struct CapabilitySets {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

// Reads process.capabilities ({"bounding": ["CAP_CHOWN", ...], ...}); absent sets are empty.
// A name that is not a capability fails with its JSON path; a capability that libcap knows
// but the running kernel does not is skipped with a warning (as runc does).
CapabilitySets parse_capabilities(const json::Node& caps);

// "CAP_CHOWN" (any case, CAP_ prefix required) -> 0; -1 when the running kernel or libcap
// does not know the name.
int capability_from_name(const std::string& name);
// 0 -> "CAP_CHOWN".
std::string capability_name(int cap);
// The names, in number order, the running kernel (/proc/sys/kernel/cap_last_cap) and libcap
// both know.
std::vector<std::string> known_capabilities();
// The highest capability number the running kernel knows.
int last_capability();

// Child side, after setuid/setgid done with PR_SET_KEEPCAPS: drops from the bounding set
// every capability not listed, sets effective/permitted/inheritable and raises the ambient
// ones. Capabilities outside this process's own bounding set are left out of every set
// (logged at debug), so "all capabilities" works where root is itself restricted.
// Errors name the capability and the errno text.
void apply_capabilities(const CapabilitySets& sets);

}  // namespace ecsa::runtime
