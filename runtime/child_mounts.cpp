#include "runtime/child_mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/rootfs_paths.hpp"

namespace ecsa::runtime {

namespace {

// Flags a bind remount must keep: in a user namespace the kernel refuses to clear locked ones.
unsigned long locked_flags(const std::string& path) {
  struct statvfs sv;
  if (statvfs(path.c_str(), &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

void do_mount(const std::string& src, const std::string& target, const char* type,
              unsigned long flags, const std::string& data, const std::string& what) {
  if (mount(src.empty() ? nullptr : src.c_str(), target.c_str(), type, flags,
            data.empty() ? nullptr : data.c_str()) != 0)
    throw_errno(what);
}

void mount_cgroup(const InitContext& ctx, const oci::Mount& m, const oci::MountFlags& mf) {
  int root = open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) throw_errno("open rootfs " + ctx.rootfs);
  UniqueFd root_fd(root);
  std::string desc = "mount cgroup on " + m.destination;
  bool ro = mf.flags & MS_RDONLY;
  unsigned long base = mf.flags & ~(MS_RDONLY | MS_BIND | MS_REMOUNT);
  auto target = open_in_root(root, m.destination, Create::dir, ctx.rootfs);
  if (ctx.cgroup_v2_only) {
    if (ctx.new_cgroupns) {
      do_mount("cgroup2", fd_path(target.get()), "cgroup2", mf.flags, "", desc);
    } else if (!ctx.cgroup_binds.empty()) {
      std::string src = ctx.cgroup_binds.front().second;
      do_mount(src, fd_path(target.get()), nullptr, MS_BIND | MS_REC, "", desc + " (bind " + src + ")");
      if (ro) {
        auto t2 = open_in_root(root, m.destination, Create::none, ctx.rootfs);
        do_mount("", fd_path(t2.get()), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | base, "", desc);
      }
    }
    return;
  }
  // v1 (and hybrid): a tmpfs holding one bind mount per hierarchy of the container's cgroup.
  do_mount("tmpfs", fd_path(target.get()), "tmpfs", base, "mode=755", desc + " (tmpfs)");
  for (const auto& [sub, host_dir] : ctx.cgroup_binds) {
    auto t = open_in_root(root, m.destination + "/" + sub, Create::dir, ctx.rootfs);
    do_mount(host_dir, fd_path(t.get()), nullptr, MS_BIND | MS_REC, "",
             desc + "/" + sub + " (bind " + host_dir + ")");
    if (ro) {
      // The fd opened before the mount names the directory underneath: reopen the new mount.
      auto t2 = open_in_root(root, m.destination + "/" + sub, Create::none, ctx.rootfs);
      do_mount("", fd_path(t2.get()), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | base, "",
               "remount read-only " + m.destination + "/" + sub);
    }
    // Co-mounted controllers ("cpu,cpuacct") are also reachable by each name, as on a host.
    if (sub.find(',') != std::string::npos) {
      size_t i = 0;
      while (i <= sub.size()) {
        size_t j = sub.find(',', i);
        if (j == std::string::npos) j = sub.size();
        std::string link = ctx.rootfs + m.destination + "/" + sub.substr(i, j - i);
        if (symlink(sub.c_str(), link.c_str()) != 0 && errno != EEXIST) throw_errno("symlink " + link);
        i = j + 1;
      }
    }
  }
  if (ro) {
    auto t2 = open_in_root(root, m.destination, Create::none, ctx.rootfs);
    do_mount("", fd_path(t2.get()), nullptr, MS_REMOUNT | MS_RDONLY | base, "mode=755",
             "remount read-only " + m.destination);
  }
}

void mount_one(const InitContext& ctx, int root_fd, const oci::Mount& m) {
  oci::MountFlags mf = oci::parse_mount_options(m.options);
  std::string what = "mount " + (m.type.empty() ? std::string("bind") : m.type) + " on " + m.destination;
  if (m.type == "cgroup") return mount_cgroup(ctx, m, mf);
  bool bind = mf.bind || m.type == "bind";
  std::string src = m.source;
  Create kind = Create::dir;
  if (bind) {
    if (!src.empty() && src[0] != '/') src = fs::join(ctx.bundle, src);
    struct stat st;
    if (stat(src.c_str(), &st) != 0) throw_errno(what + ": source " + src);
    if (!S_ISDIR(st.st_mode)) kind = Create::file;
  }
  auto target = open_in_root(root_fd, m.destination, kind, ctx.rootfs);
  std::string tpath = fd_path(target.get());
  if (bind) {
    do_mount(src, tpath, nullptr, MS_BIND | (mf.recursive ? MS_REC : 0), "", what + " from " + src);
    // Bind mounts take their flags only on a remount; reopen the target, now the new mount.
    unsigned long want = mf.flags & ~(MS_BIND | MS_REMOUNT);
    if (want) {
      auto t2 = open_in_root(root_fd, m.destination, Create::none, ctx.rootfs);
      unsigned long keep = locked_flags(fd_path(t2.get())) & ~mf.clear;
      do_mount("", fd_path(t2.get()), nullptr, MS_BIND | MS_REMOUNT | want | keep, "",
               "remount " + m.destination);
    }
  } else {
    do_mount(src, tpath, m.type.c_str(), mf.flags & ~MS_REMOUNT, mf.data, what);
  }
  if (mf.propagation) {
    auto t3 = open_in_root(root_fd, m.destination, Create::none, ctx.rootfs);
    do_mount("", fd_path(t3.get()), nullptr, mf.propagation, "", "set propagation of " + m.destination);
  }
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
const DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},    {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
    {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

void make_device(const InitContext& ctx, int root_fd, const std::string& path, char type,
                 int64_t major, int64_t minor, mode_t mode, uid_t uid, gid_t gid) {
  auto parent = open_in_root(root_fd, fs::dirname(path), Create::dir, ctx.rootfs);
  std::string name = fs::basename(path);
  std::string full = ctx.rootfs + path;
  // Reopen the parent as a real directory fd for the *at calls.
  UniqueFd dir(openat(parent.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw_errno("open " + ctx.rootfs + fs::dirname(path));
  unlinkat(dir.get(), name.c_str(), 0);
  if (ctx.new_userns) {
    // mknod is refused in a user namespace: bind the host's node instead.
    int f = openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0) throw_errno("create " + full);
    close(f);
    auto t = open_in_root(root_fd, path, Create::none, ctx.rootfs);
    do_mount(path, fd_path(t.get()), nullptr, MS_BIND, "", "bind device " + path);
    return;
  }
  mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
  if (mknodat(dir.get(), name.c_str(), fmt | (mode & 07777),
              makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor))) != 0)
    throw_errno("mknod " + full);
  // mknod honours the umask; and the host's owner of a node must not leak in.
  if (fchmodat(dir.get(), name.c_str(), mode & 07777, 0) != 0) throw_errno("chmod " + full);
  if (fchownat(dir.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
    throw_errno("chown " + full);
}

void create_devices(const InitContext& ctx, int root_fd) {
  const auto& spec = *ctx.spec;
  for (const auto& d : kDefaultDevices) {
    bool overridden = false;
    for (const auto& sd : spec.linux.devices) overridden |= sd.path == d.path;
    if (!overridden) make_device(ctx, root_fd, d.path, 'c', d.major, d.minor, 0666, 0, 0);
  }
  for (const auto& d : spec.linux.devices) {
    char type = d.type == "u" ? 'c' : d.type[0];
    make_device(ctx, root_fd, d.path, type, d.major, d.minor, d.file_mode.value_or(0666),
                d.uid.value_or(0), d.gid.value_or(0));
  }
  struct Link {
    const char* target;
    const char* path;
  };
  static const Link links[] = {{"/proc/self/fd", "/dev/fd"},
                               {"/proc/self/fd/0", "/dev/stdin"},
                               {"/proc/self/fd/1", "/dev/stdout"},
                               {"/proc/self/fd/2", "/dev/stderr"}};
  std::string dev = ctx.rootfs + "/dev";
  for (const auto& l : links) {
    std::string p = ctx.rootfs + l.path;
    if (symlink(l.target, p.c_str()) != 0 && errno != EEXIST) throw_errno("symlink " + p);
  }
  bool has_devpts = false;
  for (const auto& m : spec.mounts) has_devpts |= m.destination == "/dev/pts" && m.type == "devpts";
  if (has_devpts) {
    std::string p = ctx.rootfs + "/dev/ptmx";
    unlink(p.c_str());
    if (symlink("pts/ptmx", p.c_str()) != 0) throw_errno("symlink " + p);
  }
}

}  // namespace

void child_mount_rootfs(const InitContext& ctx) {
  const auto& spec = *ctx.spec;
  // Nothing we mount may propagate back to the host, whatever linux.rootfsPropagation says:
  // that one applies to the container's root once it is "/" (child_finish_rootfs). Making the
  // host's "/" private or unbindable here instead would not protect mounts under it that are
  // shared, and an unbindable "/" could not be bound as the rootfs (EINVAL).
  do_mount("", "/", nullptr, MS_SLAVE | MS_REC, "", "set propagation of /");
  // pivot_root needs the rootfs to be a mount point.
  do_mount(ctx.rootfs, ctx.rootfs, nullptr, MS_BIND | MS_REC, "", "bind rootfs " + ctx.rootfs);
  UniqueFd root_fd(open(ctx.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) throw_errno("open rootfs " + ctx.rootfs);
  for (const auto& m : spec.mounts) mount_one(ctx, root_fd.get(), m);
  create_devices(ctx, root_fd.get());
}

void child_pivot_root(const InitContext& ctx) {
  if (chdir(ctx.rootfs.c_str()) != 0) throw_errno("chdir " + ctx.rootfs);
  if (ctx.no_pivot) {
    if (mount(ctx.rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0) throw_errno("move rootfs to /");
    if (chroot(".") != 0) throw_errno("chroot " + ctx.rootfs);
  } else {
    // pivot_root(".", ".") stacks the old root under the new one; detach it right away.
    if (syscall(SYS_pivot_root, ".", ".") != 0) throw_errno("pivot_root " + ctx.rootfs);
    if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) throw_errno("make old root slave");
    if (umount2(".", MNT_DETACH) != 0) throw_errno("unmount old root");
  }
  if (chdir("/") != 0) throw_errno("chdir /");
}

void child_finish_rootfs(const InitContext& ctx) {
  const auto& spec = *ctx.spec;
  for (const auto& p : spec.linux.masked_paths) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      throw_errno("mask " + p);
    }
    if (S_ISDIR(st.st_mode)) {
      do_mount("tmpfs", p, "tmpfs", MS_RDONLY, "", "mask " + p);
    } else if (mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr) != 0 && errno != ENOENT) {
      throw_errno("mask " + p);
    }
  }
  for (const auto& p : spec.linux.readonly_paths) {
    if (mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      throw_errno("bind read-only path " + p);
    }
    do_mount("", p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | locked_flags(p), "",
             "remount read-only " + p);
  }
  if (spec.root_readonly)
    do_mount("", "/", nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/"), "",
             "remount / read-only");
  if (!spec.linux.rootfs_propagation.empty()) {
    // Last, on the container's root (as runc does after pivot_root): an unbindable root set
    // earlier would refuse the bind mounts of readonlyPaths.
    auto f = oci::parse_mount_options({spec.linux.rootfs_propagation});
    do_mount("", "/", nullptr, f.propagation | (f.recursive ? MS_REC : 0), "",
             "set propagation of / to " + spec.linux.rootfs_propagation);
  }
}

}  // namespace ecsa::runtime
