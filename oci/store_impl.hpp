// The ImageStore implementation's interface, for the CLI verbs and tests that need more
// than the contract (untag reports, dangling images, layer metadata).
#pragma once
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "oci/file_lock.hpp"
#include "oci/image_store.hpp"
#include "oci/store_records.hpp"

namespace ecsa::oci {

// $ECSA_STATE_DIR or /var/lib/ecsa.
std::string default_store_root();

class StoreImpl : public ImageStore {
 public:
  explicit StoreImpl(std::string root);

  const std::string& root() const override { return root_; }
  bool has_layer(const std::string& chain_id) override;
  std::unique_ptr<LayerWriter> begin_layer(const LayerInfo& layer,
                                           const std::string& parent_chain_id) override;
  void commit_image(const ImageRecord& image) override;
  std::optional<std::string> find_blob(const std::string& digest) override;
  std::unique_ptr<BlobWriter> begin_blob(const std::string& digest, int64_t size) override;
  void remove_blob(const std::string& digest) override;
  std::optional<ImageRecord> find_image(const std::string& ref_or_id) override;
  std::vector<ImageRecord> list_images() override;
  void remove_image(const std::string& ref_or_id) override;
  int64_t prune() override;
  std::string prepare_rootfs(const std::string& container_id, const ImageRecord& image) override;
  void release_rootfs(const std::string& container_id) override;

  // remove_image, returning docker's "Untagged: NAME" / "Deleted: ID" lines.
  std::vector<std::string> remove_image_reporting(const std::string& ref_or_id);
  // Removes image records without names (left when a tag moved); returns how many.
  int remove_dangling_images();
  // Removes temporaries of pulls that died; returns bytes freed.
  int64_t collect_leftovers();

  std::optional<LayerMeta> layer_meta(const std::string& chain_id);
  std::string layer_dir(const std::string& chain_id) const;
  // blobs/<alg>/<hex> (sha256, sha512).
  std::string blob_file(const std::string& digest) const;
  std::string container_dir(const std::string& id) const;

 private:
  std::string image_file(const std::string& config_digest) const;
  std::string lock_path(const std::string& name) const;
  void hold_store_lock_shared();
  std::vector<std::pair<std::string, ImageRecord>> read_images();
  std::optional<std::pair<std::string, ImageRecord>> lookup(const std::string& ref);
  std::set<std::string> referenced_layers();
  // Kept blobs (store_blobs.cpp): temporaries of dead pulls, blobs no image lists.
  int64_t collect_blob_leftovers();
  int64_t prune_blobs();

  friend class StoreLayerWriter;
  void writer_done();

  std::string root_;
  // Pulls may run layers in parallel threads on one store: mu_ guards what follows.
  std::mutex mu_;
  FileLock store_lock_;  // shared while a pull is in progress (keeps prune away)
  int active_writers_ = 0;
  bool leftovers_collected_ = false;
};

}  // namespace ecsa::oci
