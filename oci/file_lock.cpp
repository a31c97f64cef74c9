#include "oci/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "common/error.hpp"

namespace ecsa::oci {

FileLock FileLock::take(const std::string& path, Mode mode, bool wait) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw_errno("open lock file " + path);
  int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
  int rc;
  do {
    rc = ::flock(fd.get(), op);
  } while (rc != 0 && errno == EINTR);
  FileLock l;
  if (rc != 0) {
    if (!wait && errno == EWOULDBLOCK) return l;
    throw_errno("flock " + path);
  }
  l.fd_ = std::move(fd);
  return l;
}

FileLock FileLock::acquire(const std::string& path, Mode mode) { return take(path, mode, true); }

FileLock FileLock::try_acquire(const std::string& path, Mode mode) {
  return take(path, mode, false);
}

}  // namespace ecsa::oci
