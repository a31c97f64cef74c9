// On-disk records of the image store: image metadata (images/<id>.json) and layer metadata
// (layers/<chain>/meta.json), as JSON, read back with errors that name file and field.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "oci/image_store.hpp"

namespace ecsa::oci {

struct LayerMeta {
  std::string chain_id;
  std::string parent_chain_id;  // empty for a base layer
  std::string diff_id;
  std::string digest;           // compressed blob it came from
  std::string media_type;
  int64_t content_bytes = 0;    // regular file content unpacked
  int64_t tar_bytes = 0;        // uncompressed stream length
  int64_t created_unix = 0;
};

std::string image_record_to_json(const ImageRecord& r);
ImageRecord image_record_from_json(const std::string& text, const std::string& source);

std::string layer_meta_to_json(const LayerMeta& m);
LayerMeta layer_meta_from_json(const std::string& text, const std::string& source);

// The directory name of a digest inside the store: the hex for sha256, "<algo>-<hex>"
// otherwise. Validates the digest, so the name can never climb out of the store.
std::string digest_dir_name(const std::string& digest, const std::string& what);

}  // namespace ecsa::oci
