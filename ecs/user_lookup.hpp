// Resolving a container's user ("name", "uid", "name:group", "uid:gid", ...) against the
// image's /etc/passwd and /etc/group, with runc's (libcontainer/user) rules: numeric ids
// that are not in the files are taken as they are, names must exist, supplementary
// groups come from /etc/group only when no group was given.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ecsa::ecs {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string home = "/";
};

// `passwd`/`group`: the files' contents ("" when the image has none).
// Errors: `unable to find user NAME: no matching entries in passwd file`.
ResolvedUser resolve_user(const std::string& user, std::string_view passwd, std::string_view group);

}  // namespace ecsa::ecs
