#include "oci/store_records.hpp"

#include "common/error.hpp"
#include "common/json_node.hpp"
#include "oci/digest.hpp"

namespace ecsa::oci {

using json::Json;
using json::Node;

std::string image_record_to_json(const ImageRecord& r) {
  Json layers = Json::array();
  for (const auto& l : r.layers) {
    layers.push_back({{"digest", l.digest},
                      {"diff_id", l.diff_id},
                      {"chain_id", l.chain_id},
                      {"media_type", l.media_type},
                      {"size", l.size}});
  }
  Json j = {{"names", r.names},
            {"manifest_digest", r.manifest_digest},
            {"repo_digest", r.repo_digest},
            {"config_digest", r.config_digest},
            {"config_json", r.config_json},
            {"platform", r.platform},
            {"layers", layers},
            {"created_unix", r.created_unix},
            {"size", r.size}};
  return j.dump(1) + "\n";
}

ImageRecord image_record_from_json(const std::string& text, const std::string& source) {
  Json doc = json::parse(text, source);
  Node root(doc, source);
  ImageRecord r;
  if (auto n = root.opt("names")) r.names = n->strings();
  r.manifest_digest = root.str_or("manifest_digest", "");
  r.repo_digest = root.str_or("repo_digest", "");
  r.config_digest = root.at("config_digest").str();
  r.config_json = root.str_or("config_json", "");
  r.platform = root.str_or("platform", "");
  if (auto ls = root.opt("layers")) {
    for (const auto& l : ls->items()) {
      LayerInfo li;
      li.digest = l.str_or("digest", "");
      li.diff_id = l.at("diff_id").str();
      li.chain_id = l.at("chain_id").str();
      li.media_type = l.str_or("media_type", "");
      li.size = l.i64_or("size", 0);
      r.layers.push_back(std::move(li));
    }
  }
  r.created_unix = root.i64_or("created_unix", 0);
  r.size = root.i64_or("size", 0);
  return r;
}

std::string layer_meta_to_json(const LayerMeta& m) {
  Json j = {{"chain_id", m.chain_id},     {"parent_chain_id", m.parent_chain_id},
            {"diff_id", m.diff_id},       {"digest", m.digest},
            {"media_type", m.media_type}, {"content_bytes", m.content_bytes},
            {"tar_bytes", m.tar_bytes},   {"created_unix", m.created_unix}};
  return j.dump(1) + "\n";
}

LayerMeta layer_meta_from_json(const std::string& text, const std::string& source) {
  Json doc = json::parse(text, source);
  Node root(doc, source);
  LayerMeta m;
  m.chain_id = root.at("chain_id").str();
  m.parent_chain_id = root.str_or("parent_chain_id", "");
  m.diff_id = root.at("diff_id").str();
  m.digest = root.str_or("digest", "");
  m.media_type = root.str_or("media_type", "");
  m.content_bytes = root.i64_or("content_bytes", 0);
  m.tar_bytes = root.i64_or("tar_bytes", 0);
  m.created_unix = root.i64_or("created_unix", 0);
  return m;
}

std::string digest_dir_name(const std::string& digest, const std::string& what) {
  Digest d = parse_digest(digest, what);
  return d.algorithm == DigestAlgorithm::sha256 ? d.hex : "sha512-" + d.hex;
}

}  // namespace ecsa::oci
