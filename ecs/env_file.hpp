// ECS environment files (`.env` format, read like a Docker env-file): one VARIABLE=VALUE
// per line, blank lines and lines starting with # ignored, the value taken verbatim (no
// quote processing, trailing blanks kept).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "ecs/task_plan.hpp"

namespace ecsa::ecs {

// Lines without '=', or whose name is empty or has blanks, are skipped with a warning
// "<source>:<line>: ..." appended to `warnings`.
EnvList parse_env_file(std::string_view text, const std::string& source,
                       std::vector<std::string>& warnings);

}  // namespace ecsa::ecs
