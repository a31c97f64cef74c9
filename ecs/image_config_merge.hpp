// Combining a container of the plan with its image's config the way Docker does
// (moby daemon merge()): what the container finally executes, with which environment,
// working directory and user.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ecs/task_plan.hpp"
#include "ecs/user_lookup.hpp"

namespace ecsa::ecs {

// The parts of an OCI image config (config.config) that matter here.
struct ImageConfig {
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> env;  // "K=V"
  std::string working_dir;
  std::string user;
  std::string stop_signal;
  std::vector<std::string> volumes;  // image VOLUME paths
};

struct ProcessPlan {
  std::vector<std::string> args;
  std::vector<std::string> env;  // "K=V"
  std::string cwd;
  std::string user;  // as written (container's, else image's)
  ResolvedUser ids;
  std::string stop_signal;  // "SIGTERM" unless the image says otherwise
  // Image VOLUMEs no mount of the container covers: Docker gives each an empty volume.
  std::vector<std::string> anonymous_volumes;
};

// Docker's rules: entryPoint given (non-empty) -> the image's Cmd is dropped unless a
// command is given too; entryPoint absent -> the image's; command absent -> the image's
// Cmd (only when no entryPoint was given). Env: the container's, then the image's names
// not set; PATH and HOME added if missing. cwd: container's, image's, else "/".
// `passwd`/`group` are the image's /etc/passwd and /etc/group contents.
// No command at all: Error("<container>: no command specified").
ProcessPlan merge_image_config(const ContainerPlan& c, const ImageConfig& image,
                               std::string_view passwd, std::string_view group);

}  // namespace ecsa::ecs
