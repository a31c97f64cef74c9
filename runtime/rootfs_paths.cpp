#include "runtime/rootfs_paths.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "common/error.hpp"

namespace ecsa::runtime {

namespace {
int openat2_in_root(int root_fd, const std::string& rel, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd;
  do {
    fd = static_cast<int>(syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);
  return fd;
}

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i);
    if (!c.empty() && c != ".") parts.push_back(c);
    i = j + 1;
  }
  return parts;
}
}  // namespace

UniqueFd open_in_root(int root_fd, const std::string& path, Create create,
                      const std::string& root_desc) {
  std::string what = root_desc + path;
  auto parts = split(path);
  std::string rel;
  for (const auto& p : parts) rel += (rel.empty() ? "" : "/") + p;
  // Fast path: it already exists.
  int fd = openat2_in_root(root_fd, rel.empty() ? "." : rel, O_PATH);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT || create == Create::none) throw_errno("open " + what);

  // Walk component by component, creating what is missing under an already-resolved parent.
  // A dangling symlink is replaced by its target (resolved inside the rootfs) and the walk
  // starts over, as many times as the kernel would follow links.
  for (int restarts = 0; restarts < 40; ++restarts) {
    UniqueFd dir(openat2_in_root(root_fd, ".", O_PATH | O_DIRECTORY));
    if (!dir) throw_errno("open " + root_desc);
    std::string done;
    bool restarted = false;
    for (size_t i = 0; i < parts.size() && !restarted; ++i) {
      const std::string& name = parts[i];
      std::string next_path = done + "/" + name;
      bool last = i + 1 == parts.size();
      int next = openat2_in_root(root_fd, next_path, O_PATH);
      if (next < 0 && errno == ENOENT) {
        char target[4096];
        ssize_t n = readlinkat(dir.get(), name.c_str(), target, sizeof target - 1);
        if (n > 0) {
          target[n] = '\0';
          std::string t(target);
          std::string base = t[0] == '/' ? "" : done + "/";
          std::vector<std::string> rest(parts.begin() + static_cast<long>(i) + 1, parts.end());
          parts = split(base + t);
          parts.insert(parts.end(), rest.begin(), rest.end());
          // ".." components are resolved by the kernel inside the root on the next walk.
          restarted = true;
          break;
        }
        if (last && create == Create::file) {
          int f = openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
          if (f < 0 && errno != EEXIST) throw_errno("create " + root_desc + next_path);
          if (f >= 0) ::close(f);
        } else if (mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
          throw_errno("mkdir " + root_desc + next_path);
        }
        next = openat2_in_root(root_fd, next_path, O_PATH);
      }
      if (next < 0) throw_errno("open " + root_desc + next_path);
      dir.reset(next);
      done = next_path;
    }
    if (!restarted) return dir;
  }
  throw Error("open " + what + ": too many levels of symbolic links");
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace ecsa::runtime
