#include "oci/layer_extract.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"

namespace ecsa::oci {

namespace {

constexpr const char* kWhiteoutPrefix = ".wh.";
constexpr const char* kWhiteoutMetaPrefix = ".wh..wh.";
constexpr const char* kOpaqueMarker = ".wh..wh..opq";
constexpr const char* kOverlayXattrPrefix = "trusted.overlay.";

std::string join_components(const std::vector<std::string>& c, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < c.size(); ++i) {
    if (i) s += '/';
    s += c[i];
  }
  return s;
}

// rm -rf of `name` inside `dirfd`, never following symlinks.
void remove_tree_at(int dirfd, const char* name) {
  if (::unlinkat(dirfd, name, 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR && errno != EPERM) throw_errno(std::string("remove ") + name);
  int fd = ::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw_errno(std::string("open ") + name);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    throw_errno(std::string("opendir ") + name);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
  }
  try {
    for (const auto& n : names) remove_tree_at(::dirfd(d), n.c_str());
  } catch (...) {
    ::closedir(d);
    throw;
  }
  ::closedir(d);
  if (::unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    throw_errno(std::string("rmdir ") + name);
}

struct timespec entry_mtime(archive_entry* e) {
  struct timespec t{};
  if (archive_entry_mtime_is_set(e)) {
    t.tv_sec = archive_entry_mtime(e);
    t.tv_nsec = archive_entry_mtime_nsec(e);
  }
  return t;
}

struct timespec entry_atime(archive_entry* e) {
  if (!archive_entry_atime_is_set(e)) return entry_mtime(e);
  struct timespec t{};
  t.tv_sec = archive_entry_atime(e);
  t.tv_nsec = archive_entry_atime_nsec(e);
  return t;
}

}  // namespace

std::vector<std::string> layer_path_components(const std::string& name) {
  if (!name.empty() && name[0] == '/')
    throw Error("entry \"" + name + "\": absolute name refused");
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t next = name.find('/', pos);
    if (next == std::string::npos) next = name.size();
    std::string c = name.substr(pos, next - pos);
    pos = next + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") throw Error("entry \"" + name + "\": \"..\" in name refused");
    out.push_back(std::move(c));
  }
  return out;
}

LayerExtractor::LayerExtractor(const std::string& dir, std::string label)
    : dir_(dir), label_(std::move(label)), is_root_user_(::geteuid() == 0) {
  root_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root_) throw_errno("open " + dir);
}

void LayerExtractor::refuse(const std::string& entry, const std::string& why) const {
  throw Error(label_ + ": entry \"" + entry + "\": " + why);
}

void LayerExtractor::fail_errno(const std::string& entry, const std::string& step,
                                int err) const {
  throw_errno(label_ + ": entry \"" + entry + "\": " + step, err);
}

namespace {

// Opens the directory made of the first `n` components below `root`, one component at a
// time with O_NOFOLLOW, creating missing ones (mode 0755) when `create` is set. A symlink
// on the way is refused: a layer must not write through a link it planted.
UniqueFd walk_dirs(int root, const std::vector<std::string>& comps, size_t n, bool create,
                   const std::string& entry, const std::string& label) {
  UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!cur) throw_errno(label + ": dup");
  for (size_t i = 0; i < n; ++i) {
    const char* c = comps[i].c_str();
    int fd = ::openat(cur.get(), c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    bool was_whiteout = false;
    if (fd < 0 && errno == ENOTDIR && create) {
      // Entries below a name this layer whited out: the name becomes an opaque directory.
      struct stat st;
      if (::fstatat(cur.get(), c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(st.st_mode) &&
          st.st_rdev == makedev(0, 0) && ::unlinkat(cur.get(), c, 0) == 0) {
        was_whiteout = true;
        errno = ENOENT;
      } else {
        errno = ENOTDIR;
      }
    }
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), c, 0755) != 0 && errno != EEXIST)
        throw_errno(label + ": entry \"" + entry + "\": mkdir " + join_components(comps, i + 1));
      fd = ::openat(cur.get(), c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0 && was_whiteout && ::fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) != 0) {
        int err = errno;
        ::close(fd);
        throw_errno(label + ": entry \"" + entry + "\": set opaque xattr on " +
                        join_components(comps, i + 1), err);
      }
    }
    if (fd < 0) {
      int err = errno;
      struct stat st;
      std::string sub = join_components(comps, i + 1);
      if (::fstatat(cur.get(), c, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
          throw Error(label + ": entry \"" + entry + "\": path component \"" + sub +
                      "\" is a symlink; refusing to write through it");
        if (!S_ISDIR(st.st_mode))
          throw Error(label + ": entry \"" + entry + "\": path component \"" + sub +
                      "\" is not a directory");
      }
      throw_errno(label + ": entry \"" + entry + "\": open " + sub, err);
    }
    cur.reset(fd);
  }
  return cur;
}

}  // namespace

void LayerExtractor::extract(struct archive* tar) {
  archive_entry* e = nullptr;
  for (;;) {
    int rc = archive_read_next_header(tar, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc == ARCHIVE_RETRY) continue;
    if (rc < ARCHIVE_WARN)
      throw Error(label_ + ": read tar: " +
                  (archive_error_string(tar) ? archive_error_string(tar) : "unknown error"));
    extract_entry(tar, e);
  }
}

void LayerExtractor::extract_entry(struct archive* tar, archive_entry* e) {
  const char* raw_name = archive_entry_pathname(e);
  std::string name = raw_name ? raw_name : "";
  std::vector<std::string> comps;
  try {
    comps = layer_path_components(name);
  } catch (const Error& err) {
    throw Error(label_ + ": " + err.what());
  }
  mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);

  // The layer root itself ("./"): only its metadata.
  if (comps.empty()) {
    if (hardlink || type != AE_IFDIR) refuse(name, "the layer root must be a directory");
    if (is_root_user_ && ::fchown(root_.get(), archive_entry_uid(e), archive_entry_gid(e)) != 0)
      fail_errno(name, "chown");
    if (::fchmod(root_.get(), archive_entry_perm(e)) != 0) fail_errno(name, "chmod");
    return;
  }

  const std::string& base = comps.back();
  UniqueFd parent = walk_dirs(root_.get(), comps, comps.size() - 1, true, name, label_);
  int pfd = parent.get();

  // Whiteouts, converted to overlayfs form.
  if (base.rfind(kWhiteoutPrefix, 0) == 0) {
    if (base == kOpaqueMarker) {
      if (::fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) != 0)
        fail_errno(name, "set opaque xattr");
      return;
    }
    if (base.rfind(kWhiteoutMetaPrefix, 0) == 0) return;  // aufs bookkeeping: nothing to do
    std::string target = base.substr(std::strlen(kWhiteoutPrefix));
    if (target.empty() || target == "." || target == "..")
      refuse(name, "whiteout of \"" + target + "\" refused");
    try {
      remove_tree_at(pfd, target.c_str());
    } catch (const Error& err) {
      refuse(name, err.what());
    }
    if (::mknodat(pfd, target.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
      fail_errno(name, "create whiteout");
    return;
  }

  // The existing object is replaced unless both are directories (tar semantics).
  struct stat old;
  bool exists = ::fstatat(pfd, base.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  bool keep_dir = exists && S_ISDIR(old.st_mode) && !hardlink && type == AE_IFDIR;
  // A directory recreated over its own whiteout in this layer hides the lower one: opaque.
  bool replaced_whiteout = exists && S_ISCHR(old.st_mode) && old.st_rdev == makedev(0, 0);
  if (exists && !keep_dir) {
    try {
      remove_tree_at(pfd, base.c_str());
    } catch (const Error& err) {
      refuse(name, err.what());
    }
  }

  uid_t uid = static_cast<uid_t>(archive_entry_uid(e));
  gid_t gid = static_cast<gid_t>(archive_entry_gid(e));
  mode_t perm = archive_entry_perm(e) & 07777;
  struct timespec times[2] = {entry_atime(e), entry_mtime(e)};
  UniqueFd obj;  // open fd of the new object when it has one (file, dir)

  if (hardlink) {
    std::vector<std::string> tcomps;
    try {
      tcomps = layer_path_components(hardlink);
    } catch (const Error&) {
      refuse(name, std::string("hard link target \"") + hardlink +
                       "\" refused (absolute or \"..\")");
    }
    if (tcomps.empty()) refuse(name, "hard link to the layer root refused");
    UniqueFd tparent =
        walk_dirs(root_.get(), tcomps, tcomps.size() - 1, false, name, label_);
    if (::linkat(tparent.get(), tcomps.back().c_str(), pfd, base.c_str(), 0) != 0)
      fail_errno(name, std::string("hard link to \"") + hardlink + "\"");
    return;  // a hard link shares the target's metadata
  }

  switch (type) {
    case AE_IFDIR: {
      if (!keep_dir && ::mkdirat(pfd, base.c_str(), 0700) != 0) fail_errno(name, "mkdir");
      obj.reset(::openat(pfd, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!obj) fail_errno(name, "open");
      if (replaced_whiteout &&
          ::fsetxattr(obj.get(), "trusted.overlay.opaque", "y", 1, 0) != 0)
        fail_errno(name, "set opaque xattr");
      DirTime dt;
      dt.path = join_components(comps, comps.size());
      dt.times[0] = times[0];
      dt.times[1] = times[1];
      dir_times_.push_back(std::move(dt));
      break;
    }
    case AE_IFREG: {
      obj.reset(::openat(pfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0600));
      if (!obj) fail_errno(name, "create");
      const void* buf;
      size_t len;
      la_int64_t off;
      for (;;) {
        int rc = archive_read_data_block(tar, &buf, &len, &off);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN)
          throw Error(label_ + ": entry \"" + name + "\": read: " +
                      (archive_error_string(tar) ? archive_error_string(tar) : "unknown error"));
        const char* p = static_cast<const char*>(buf);
        while (len > 0) {
          ssize_t n = ::pwrite(obj.get(), p, len, off);
          if (n < 0) {
            if (errno == EINTR) continue;
            fail_errno(name, "write");
          }
          p += n;
          off += n;
          len -= static_cast<size_t>(n);
          content_bytes_ += n;
        }
      }
      // Sparse files may end in a hole.
      if (archive_entry_size_is_set(e) && ::ftruncate(obj.get(), archive_entry_size(e)) != 0)
        fail_errno(name, "truncate");
      break;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (::symlinkat(target ? target : "", pfd, base.c_str()) != 0) fail_errno(name, "symlink");
      if (::fchownat(pfd, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0 &&
          (is_root_user_ || errno != EPERM))
        fail_errno(name, "chown");
      if (::utimensat(pfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        fail_errno(name, "set times");
      return;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      dev_t dev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e),
                                                 archive_entry_rdevminor(e));
      if (::mknodat(pfd, base.c_str(), type | 0600, dev) != 0) fail_errno(name, "mknod");
      break;
    }
    case AE_IFSOCK:
      return;  // sockets are not restored (as tar and umoci do)
    default:
      refuse(name, "unknown entry type");
  }

  // Owner first: chown clears setuid/setgid bits and file capabilities.
  int rc = obj ? ::fchown(obj.get(), uid, gid)
               : ::fchownat(pfd, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
  if (rc != 0 && (is_root_user_ || errno != EPERM)) fail_errno(name, "chown");
  rc = obj ? ::fchmod(obj.get(), perm) : ::fchmodat(pfd, base.c_str(), perm, 0);
  if (rc != 0) fail_errno(name, "chmod");

  // xattrs; the overlay's own trusted.overlay.* are never taken from a layer.
  const char* xname;
  const void* xval;
  size_t xlen;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK) {
    if (std::strncmp(xname, kOverlayXattrPrefix, std::strlen(kOverlayXattrPrefix)) == 0) continue;
    if (obj) {
      rc = ::fsetxattr(obj.get(), xname, xval, xlen, 0);
    } else {
      // Device nodes and fifos cannot be opened safely: name them through the parent fd.
      std::string p = "/proc/self/fd/" + std::to_string(pfd) + "/" + base;
      rc = ::lsetxattr(p.c_str(), xname, xval, xlen, 0);
    }
    if (rc != 0) fail_errno(name, std::string("set xattr ") + xname);
  }

  if (type != AE_IFDIR) {
    rc = obj ? ::futimens(obj.get(), times) : ::utimensat(pfd, base.c_str(), times, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) fail_errno(name, "set times");
  }
}

void LayerExtractor::finish() {
  // Directory times last: creating entries inside a directory changes its mtime.
  for (const auto& d : dir_times_) {
    std::vector<std::string> comps = layer_path_components(d.path);
    UniqueFd parent;
    try {
      parent = walk_dirs(root_.get(), comps, comps.size() - 1, false, d.path, label_);
    } catch (const Error&) {
      continue;  // a later entry replaced a parent: nothing to date
    }
    if (::utimensat(parent.get(), comps.back().c_str(), d.times, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed by a later entry
      fail_errno(d.path, "set times");
    }
  }
  dir_times_.clear();
}

}  // namespace ecsa::oci
