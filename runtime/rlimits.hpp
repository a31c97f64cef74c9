// Resource limits of the container process (process.rlimits of an OCI config).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::runtime {

struct Rlimit {
  int resource;         // RLIMIT_NOFILE, ...
  std::string name;     // "RLIMIT_NOFILE"
  uint64_t soft, hard;  // RLIM_INFINITY (2^64-1) is unlimited
};

// Reads process.rlimits ([{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096}, ...]).
// Unknown types, duplicates and soft above hard fail with the JSON path.
std::vector<Rlimit> parse_rlimits(const json::Node& rlimits);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 if unknown.
int rlimit_from_name(const std::string& name);

// Child side: sets each limit on the calling process. Raising a hard limit needs
// CAP_SYS_RESOURCE; the error reads
// "setrlimit RLIMIT_NOFILE soft=30000 hard=30000: Operation not permitted".
void apply_rlimits(const std::vector<Rlimit>& limits);

}  // namespace ecsa::runtime
