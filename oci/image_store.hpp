// The content and layer store under /var/lib/ecsa (contract between the registry client,
// which streams blobs, and the store, which verifies, unpacks and commits them).
// Layers are stored once, keyed by chain ID; image metadata is committed last, so a crash
// or power loss at any moment leaves nothing corrupt that is used later.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ecsa::oci {

struct LayerInfo {
  std::string digest;      // compressed blob digest "sha256:..."
  std::string diff_id;     // uncompressed digest from config rootfs.diff_ids
  std::string chain_id;    // sha256 chain ID
  std::string media_type;  // decides decompression (gzip, zstd, none)
  int64_t size = 0;        // compressed size
};

// What `images` lists and `run IMAGE` starts from.
struct ImageRecord {
  std::vector<std::string> names;   // normalised references, e.g. "127.0.0.1:5000/busybox:latest"
  std::string manifest_digest;      // digest of the platform manifest
  std::string repo_digest;          // "repo@sha256:..." of what was pulled (index or manifest)
  std::string config_digest;        // image ID
  std::string config_json;          // the image config blob, verbatim
  std::string platform;             // "linux/arm64/v8"
  std::vector<LayerInfo> layers;    // base first
  int64_t created_unix = 0;         // when pulled
  int64_t size = 0;                 // unpacked size, bytes
};

// Receives one layer's compressed bytes as they arrive; decompresses and extracts on the fly.
// commit() checks the uncompressed digest against diff_id, syncs, and renames the layer into
// place. Destroying an uncommitted writer removes everything it wrote.
class LayerWriter {
 public:
  virtual ~LayerWriter() = default;
  virtual void write(const void* data, size_t len) = 0;
  virtual void commit() = 0;
};

// Receives a layer's compressed blob as it arrives (`pull --keep-blobs`). commit() checks
// digest and size, syncs, and renames it to blobs/<alg>/<hex>. Destroying an uncommitted
// writer removes its temporary file.
class BlobWriter {
 public:
  virtual ~BlobWriter() = default;
  virtual void write(const void* data, size_t len) = 0;
  virtual void commit() = 0;
};

class ImageStore {
 public:
  // root defaults to $ECSA_STATE_DIR or /var/lib/ecsa.
  static std::unique_ptr<ImageStore> open(const std::string& root = "");
  virtual ~ImageStore() = default;

  virtual const std::string& root() const = 0;
  virtual bool has_layer(const std::string& chain_id) = 0;
  // Takes the layer's lock; if another pull finished it meanwhile, returns nullptr.
  virtual std::unique_ptr<LayerWriter> begin_layer(const LayerInfo& layer,
                                                   const std::string& parent_chain_id) = 0;
  virtual void commit_image(const ImageRecord& image) = 0;

  // Kept compressed blobs, content-addressed: the path of a committed blob, if stored (its
  // content is verified by whoever reads it).
  virtual std::optional<std::string> find_blob(const std::string& digest) = 0;
  virtual std::unique_ptr<BlobWriter> begin_blob(const std::string& digest, int64_t size) = 0;
  virtual void remove_blob(const std::string& digest) = 0;

  virtual std::optional<ImageRecord> find_image(const std::string& ref_or_id) = 0;
  virtual std::vector<ImageRecord> list_images() = 0;
  virtual void remove_image(const std::string& ref_or_id) = 0;
  // Removes layers and kept blobs no image uses and leftovers of interrupted pulls;
  // returns bytes freed.
  virtual int64_t prune() = 0;

  // A container's root filesystem: overlayfs of the image layers plus a writable upper dir
  // (a flattened copy where overlayfs is missing). Returns the rootfs path.
  virtual std::string prepare_rootfs(const std::string& container_id, const ImageRecord& image) = 0;
  virtual void release_rootfs(const std::string& container_id) = 0;
};

}  // namespace ecsa::oci
