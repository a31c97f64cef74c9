// Paths inside a container's root filesystem, resolved without ever leaving it: symlinks
// the image planted are followed as if the rootfs were "/" (openat2 RESOLVE_IN_ROOT), and
// missing directories are created one component at a time under an already-resolved parent.
#pragma once
#include <string>

#include "common/fd.hpp"

namespace ecsa::runtime {

enum class Create { none, dir, file };

// Opens `path` (absolute, as seen inside the container) under `root_fd` as an O_PATH fd,
// creating missing directories (and the last component as a dir or empty file if asked).
UniqueFd open_in_root(int root_fd, const std::string& path, Create create, const std::string& root_desc);

// "/proc/self/fd/N": mount(2) targets a resolved fd through this path, so a symlink swapped
// in after resolution cannot redirect the mount.
std::string fd_path(int fd);

}  // namespace ecsa::runtime
