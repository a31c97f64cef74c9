// Test support for the oci store/unpack tests: builds layer tars with libarchive's write
// side (plain, gzip, zstd), and snapshots directory trees for comparison.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "oci/image_store.hpp"
#include "oci/unpack_stream.hpp"

namespace ecsa::testing {

struct TarEntry {
  std::string name;
  mode_t type = 0100000;  // AE_IFREG
  mode_t perm = 0644;
  int64_t uid = 0, gid = 0;
  std::string data;      // regular file content
  std::string symlink;   // symlink target
  std::string hardlink;  // hard link target
  unsigned dev_major = 0, dev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  int64_t mtime = 1700000000;
};

TarEntry tar_file(const std::string& name, const std::string& data, mode_t perm = 0644);
TarEntry tar_dir(const std::string& name, mode_t perm = 0755);
TarEntry tar_symlink(const std::string& name, const std::string& target);
TarEntry tar_hardlink(const std::string& name, const std::string& target);
TarEntry tar_chardev(const std::string& name, unsigned major, unsigned minor);
TarEntry tar_fifo(const std::string& name);

// An uncompressed tar (pax format, which carries xattrs).
std::string build_tar(const std::vector<TarEntry>& entries);
std::string compress(const std::string& data, oci::Compression c);
const char* media_type_for(oci::Compression c);

// A layer ready for the store: tar compressed with `c`, and its LayerInfo (digest, diff_id,
// chain_id from `parent_chain`).
struct TestLayer {
  std::string blob;
  std::string tar;
  oci::LayerInfo info;
};
TestLayer make_layer(const std::vector<TarEntry>& entries, oci::Compression c,
                     const std::string& parent_chain = "");

// Feeds `blob` to begin_layer's writer in chunks of `chunk` bytes and commits. Returns false
// when begin_layer says the layer is there already.
bool store_layer(oci::ImageStore& store, const TestLayer& l, const std::string& parent_chain,
                 size_t chunk = 4096);

// One node of a tree: type, mode, owner, size, content digest, link target, device.
struct NodeInfo {
  char type = '?';  // f d l c b p
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  int64_t size = 0;
  std::string content;  // sha256 of file content, symlink target
  dev_t rdev = 0;
  bool operator==(const NodeInfo&) const = default;
};
std::map<std::string, NodeInfo> snapshot(const std::string& dir);
std::string describe_diff(const std::map<std::string, NodeInfo>& a,
                          const std::map<std::string, NodeInfo>& b);

// A temporary directory removed (recursively) at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Whether this process can start threads: qemu-user 7.2 (the arm64 unit test runner) hangs
// in thread creation on this kernel, so tests of the threaded unpacker skip themselves
// there (probed in a forked child with a timeout, once).
bool threads_work();
#define ECSA_REQUIRE_THREADS()                                                   \
  do {                                                                           \
    if (!::ecsa::testing::threads_work()) {                                      \
      WARN("skipped: threads do not start in this environment (qemu-user?)");    \
      return;                                                                    \
    }                                                                            \
  } while (0)

// Extracts an uncompressed tar held in memory with LayerExtractor, on this thread.
void extract_tar(const std::string& tar, const std::string& dir);

// Every path below `dir` (for "nothing was written there" checks).
std::vector<std::string> list_tree(const std::string& dir);

}  // namespace ecsa::testing
