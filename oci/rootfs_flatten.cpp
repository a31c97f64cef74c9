#include "oci/rootfs_flatten.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ecsa::oci {

namespace {

constexpr const char* kOverlayXattrPrefix = "trusted.overlay.";

std::vector<std::string> dir_names(int fd, const std::string& path) {
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) throw_errno("dup " + path);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    ::close(dup);
    throw_errno("opendir " + path);
  }
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      out.emplace_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

void remove_tree_at(int dirfd, const std::string& name, const std::string& path) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR && errno != EPERM) throw_errno("remove " + path);
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw_errno("open " + path);
  for (const auto& n : dir_names(fd.get(), path)) remove_tree_at(fd.get(), n, path + "/" + n);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    throw_errno("rmdir " + path);
}

bool is_opaque(int dirfd) {
  char v[4];
  ssize_t n = ::fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof v);
  return n == 1 && v[0] == 'y';
}

// Copies xattrs other than the overlay's own from fd `src` to fd `dst`.
void copy_xattrs(int src, int dst, const std::string& path) {
  ssize_t len = ::flistxattr(src, nullptr, 0);
  if (len <= 0) return;  // none, or not supported
  std::string names(static_cast<size_t>(len), '\0');
  len = ::flistxattr(src, names.data(), names.size());
  if (len < 0) throw_errno("list xattrs " + path);
  std::string value;
  for (size_t pos = 0; pos < static_cast<size_t>(len);) {
    const char* name = names.c_str() + pos;
    pos += std::strlen(name) + 1;
    if (std::strncmp(name, kOverlayXattrPrefix, std::strlen(kOverlayXattrPrefix)) == 0) continue;
    ssize_t vl = ::fgetxattr(src, name, nullptr, 0);
    if (vl < 0) throw_errno(std::string("get xattr ") + name + " of " + path);
    value.resize(static_cast<size_t>(vl));
    vl = ::fgetxattr(src, name, value.data(), value.size());
    if (vl < 0) throw_errno(std::string("get xattr ") + name + " of " + path);
    if (::fsetxattr(dst, name, value.data(), static_cast<size_t>(vl), 0) != 0)
      throw_errno(std::string("set xattr ") + name + " on " + path);
  }
}

void copy_content(int src, int dst, const std::string& path) {
  for (;;) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
      throw_errno("copy " + path);
    break;  // fall back to read/write
  }
  char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(src, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read " + path);
    }
    if (n == 0) return;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(dst, buf + off, static_cast<size_t>(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw_errno("write " + path);
      }
      off += w;
    }
  }
}

void set_owner_mode(int fd, const struct stat& st, const std::string& path) {
  if (::fchown(fd, st.st_uid, st.st_gid) != 0 && (::geteuid() == 0 || errno != EPERM))
    throw_errno("chown " + path);
  if (::fchmod(fd, st.st_mode & 07777) != 0) throw_errno("chmod " + path);
}

class Flattener {
 public:
  explicit Flattener(std::string target) : target_(std::move(target)) {}

  // Applies directory `src` (an open fd) onto directory `dst`; `rel` is the path below
  // the root ("" at the root).
  void apply_dir(int src, int dst, const std::string& rel) {
    for (const auto& name : dir_names(src, rel)) {
      std::string r = rel.empty() ? name : rel + "/" + name;
      std::string full = target_ + "/" + r;
      struct stat st;
      if (::fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("stat " + r);
      if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {  // whiteout
        remove_tree_at(dst, name, full);
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        UniqueFd s(::openat(src, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) throw_errno("open layer dir " + r);
        struct stat dstat;
        bool have = ::fstatat(dst, name.c_str(), &dstat, AT_SYMLINK_NOFOLLOW) == 0;
        if (have && S_ISDIR(dstat.st_mode)) {
          if (is_opaque(s.get())) {
            UniqueFd d(::openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!d) throw_errno("open " + full);
            for (const auto& n : dir_names(d.get(), full))
              remove_tree_at(d.get(), n, full + "/" + n);
          }
        } else {
          if (have) remove_tree_at(dst, name, full);
          if (::mkdirat(dst, name.c_str(), 0700) != 0) throw_errno("mkdir " + full);
        }
        UniqueFd d(::openat(dst, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) throw_errno("open " + full);
        set_owner_mode(d.get(), st, full);
        copy_xattrs(s.get(), d.get(), full);
        apply_dir(s.get(), d.get(), r);
        struct timespec t[2] = {st.st_atim, st.st_mtim};
        if (::futimens(d.get(), t) != 0) throw_errno("set times " + full);
        continue;
      }
      remove_tree_at(dst, name, full);
      copy_leaf(src, dst, name, st, r, full);
    }
  }

 private:
  void copy_leaf(int src, int dst, const std::string& name, const struct stat& st,
                 const std::string& rel, const std::string& full) {
    struct timespec t[2] = {st.st_atim, st.st_mtim};
    const char* n = name.c_str();
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto it = links_.find({st.st_dev, st.st_ino});
        if (it != links_.end()) {
          if (::linkat(AT_FDCWD, it->second.c_str(), dst, n, 0) != 0)
            throw_errno("hard link " + full + " to " + it->second);
          return;
        }
        links_[{st.st_dev, st.st_ino}] = full;
      }
      UniqueFd s(::openat(src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!s) throw_errno("open layer file " + rel);
      UniqueFd d(::openat(dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!d) throw_errno("create " + full);
      copy_content(s.get(), d.get(), full);
      set_owner_mode(d.get(), st, full);
      copy_xattrs(s.get(), d.get(), full);
      if (::futimens(d.get(), t) != 0) throw_errno("set times " + full);
      return;
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t len = ::readlinkat(src, n, target.data(), target.size());
      if (len < 0) throw_errno("readlink " + rel);
      target.resize(static_cast<size_t>(len));
      if (::symlinkat(target.c_str(), dst, n) != 0) throw_errno("symlink " + full);
      if (::fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 &&
          (::geteuid() == 0 || errno != EPERM))
        throw_errno("chown " + full);
      if (::utimensat(dst, n, t, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("set times " + full);
      return;
    }
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(dst, n, (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0)
        throw_errno("mknod " + full);
      if (::fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 &&
          (::geteuid() == 0 || errno != EPERM))
        throw_errno("chown " + full);
      if (::fchmodat(dst, n, st.st_mode & 07777, 0) != 0) throw_errno("chmod " + full);
      if (::utimensat(dst, n, t, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("set times " + full);
      return;
    }
    // sockets and anything else: not part of an image
  }

  std::string target_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // hard links inside this layer
};

}  // namespace

void flatten_layer_onto(const std::string& layer_dir, const std::string& target) {
  UniqueFd src(::open(layer_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!src) throw_errno("open " + layer_dir);
  UniqueFd dst(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dst) throw_errno("open " + target);
  if (is_opaque(src.get())) {  // `.wh..wh..opq` at the layer root hides every lower layer
    for (const auto& n : dir_names(dst.get(), target)) remove_tree_at(dst.get(), n, target + "/" + n);
  }
  Flattener f(target);
  f.apply_dir(src.get(), dst.get(), "");
}

}  // namespace ecsa::oci
