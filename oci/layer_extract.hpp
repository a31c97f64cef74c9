// Writes the entries of one layer tar into an empty layer directory, in overlayfs form:
// whiteouts `.wh.NAME` become 0:0 character devices and `.wh..wh..opq` becomes the
// trusted.overlay.opaque=y xattr on its directory. Ownership, modes (setuid too), mtimes,
// xattrs, hard links, symlinks and device nodes are kept.
//
// Hostile entries (absolute names, `..`, paths through a symlink the layer planted, hard
// links whose target is outside, whiteout names that climb out) are refused with the
// entry's name in the error. Every path is resolved with a dirfd walk from the layer
// directory using O_NOFOLLOW, so nothing is ever written outside it.
#pragma once
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/fd.hpp"

struct archive;
struct archive_entry;

namespace ecsa::oci {

// Splits a tar entry name into path components below the layer root: "./a//b/" -> {a, b}.
// Throws Error naming the entry for absolute names and ".." components. The root itself
// ("./") gives an empty list.
std::vector<std::string> layer_path_components(const std::string& name);

class LayerExtractor {
 public:
  // `dir` must exist; `label` prefixes errors, e.g. "layer sha256:ab12...".
  LayerExtractor(const std::string& dir, std::string label);

  // Reads every entry of `tar` (an archive opened for reading) and writes it.
  void extract(struct archive* tar);
  // Applies what must come after all entries (directory times).
  void finish();

  const UniqueFd& root_fd() const { return root_; }
  // Bytes of regular file content written.
  int64_t content_bytes() const { return content_bytes_; }

 private:
  // One per directory entry, applied at the end; the path is kept joined to stay small.
  struct DirTime {
    std::string path;
    struct timespec times[2];
  };
  void extract_entry(struct archive* tar, struct archive_entry* e);
  [[noreturn]] void refuse(const std::string& entry, const std::string& why) const;
  [[noreturn]] void fail_errno(const std::string& entry, const std::string& step,
                               int err = errno) const;

  std::string dir_;
  std::string label_;
  UniqueFd root_;
  bool is_root_user_;
  int64_t content_bytes_ = 0;
  std::vector<DirTime> dir_times_;
};

}  // namespace ecsa::oci
