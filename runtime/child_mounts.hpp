// Child side of clone: the container's mount namespace. Runs in the new mount namespace of
// the container's init, first against the rootfs on the host (mounts, devices), then inside
// it (pivot_root, masked and read-only paths).
#pragma once
#include "runtime/init_context.hpp"

namespace ecsa::runtime {

// Propagation, the rootfs bind mount, the spec's mounts and the default devices.
void child_mount_rootfs(const InitContext& ctx);
// pivot_root into the rootfs (or MS_MOVE + chroot with --no-pivot).
void child_pivot_root(const InitContext& ctx);
// After pivot_root: masked paths, read-only paths, read-only root, rootfs propagation.
void child_finish_rootfs(const InitContext& ctx);

}  // namespace ecsa::runtime
