// overlayfs mounts for container root filesystems: the image's layer directories as
// read-only lower dirs (top layer first) plus the container's writable upper dir.
#pragma once
#include <string>
#include <vector>

namespace ecsa::oci {

// False when the kernel lacks overlayfs or ECSA_NO_OVERLAY=1 asks for the copy fallback.
bool overlay_wanted();

// Mounts at `merged`. Long layer lists that do not fit one mount option page are passed
// one by one with the new mount API ("lowerdir+", Linux 6.5+).
void mount_overlay(const std::vector<std::string>& lower_top_first, const std::string& upper,
                   const std::string& work, const std::string& merged);

// Detaching unmount; not mounted is fine.
void unmount_overlay(const std::string& merged);

}  // namespace ecsa::oci
