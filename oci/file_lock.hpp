// Advisory whole-file locks (flock) on lock files, released when the holder closes the
// file or dies: a pull killed with -9 never leaves a lock behind.
#pragma once
#include <string>

#include "common/fd.hpp"

namespace ecsa::oci {

class FileLock {
 public:
  enum class Mode { shared, exclusive };

  FileLock() = default;
  // Opens (creating) `path` and waits for the lock.
  static FileLock acquire(const std::string& path, Mode mode = Mode::exclusive);
  // Opens (creating) `path`; returns an unlocked FileLock if someone else holds it.
  static FileLock try_acquire(const std::string& path, Mode mode = Mode::exclusive);

  bool locked() const { return static_cast<bool>(fd_); }
  void release() { fd_.reset(); }

 private:
  static FileLock take(const std::string& path, Mode mode, bool wait);
  UniqueFd fd_;
};

}  // namespace ecsa::oci
