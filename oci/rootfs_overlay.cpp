#include "oci/rootfs_overlay.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace ecsa::oci {

namespace {
// mount(2) takes its options in one page.
constexpr size_t kMaxMountData = 4000;

void check_path(const std::string& p) {
  if (p.find_first_of(":,\\") != std::string::npos)
    throw Error("overlay: path " + p + " contains ':', ',' or '\\', which overlayfs options cannot hold");
}
}  // namespace

bool overlay_wanted() {
  const char* env = std::getenv("ECSA_NO_OVERLAY");
  if (env && std::strcmp(env, "1") == 0) return false;
  auto fsl = fs::read_file_if_exists("/proc/filesystems");
  return fsl && fsl->find("\toverlay\n") != std::string::npos;
}

void mount_overlay(const std::vector<std::string>& lowers, const std::string& upper,
                   const std::string& work, const std::string& merged) {
  if (lowers.empty()) throw Error("overlay " + merged + ": no lower layer");
  for (const auto& l : lowers) check_path(l);
  check_path(upper);
  check_path(work);
  std::string lowerdir;
  for (const auto& l : lowers) lowerdir += (lowerdir.empty() ? "" : ":") + l;
  std::string opts = "lowerdir=" + lowerdir + ",upperdir=" + upper + ",workdir=" + work;
  if (opts.size() <= kMaxMountData) {
    if (::mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0)
      throw_errno("mount overlay on " + merged);
    return;
  }
  UniqueFd fsfd(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fsfd) throw_errno("fsopen overlay for " + merged);
  auto set = [&](const char* key, const std::string& v) {
    if (::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, v.c_str(), 0) != 0)
      throw_errno(std::string("overlay ") + merged + ": " + key + "=" + v);
  };
  set("source", "overlay");
  for (const auto& l : lowers) set("lowerdir+", l);
  set("upperdir", upper);
  set("workdir", work);
  if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    throw_errno("create overlay for " + merged);
  UniqueFd mnt(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) throw_errno("fsmount overlay for " + merged);
  if (::move_mount(mnt.get(), "", AT_FDCWD, merged.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    throw_errno("move_mount overlay to " + merged);
}

void unmount_overlay(const std::string& merged) {
  if (::umount2(merged.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT)
    throw_errno("unmount " + merged);
}

}  // namespace ecsa::oci
