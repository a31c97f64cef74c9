#include "oci/registry_manifest.hpp"

#include "common/error.hpp"
#include "common/json_node.hpp"
#include "oci/digest.hpp"

namespace ecsa::oci {

namespace {

Descriptor parse_descriptor(const json::Node& n) {
  Descriptor d;
  d.media_type = n.str_or("mediaType", "");
  d.digest = parse_digest(n.at("digest").str(), n.path() + ".digest").str();
  d.size = n.at("size").i64();
  if (d.size < 0) n.at("size").fail("negative size");
  if (auto p = n.opt("platform")) {
    Platform pl;
    pl.os = p->str_or("os", "");
    pl.architecture = p->str_or("architecture", "");
    pl.variant = p->str_or("variant", "");
    if (!pl.os.empty() && !pl.architecture.empty()) d.platform = pl;
  }
  if (auto u = n.opt("urls")) d.urls = u->strings();
  return d;
}

bool is_schema1(const std::string& mt) {
  return mt == media::docker_schema1 || mt == media::docker_schema1_signed;
}

[[noreturn]] void schema1_error(const std::string& what) {
  throw Error(what + ": Docker schema 1 manifests are not supported (deprecated since 2017); "
                     "push the image again with a current client to get a schema 2 or OCI "
                     "manifest");
}

}  // namespace

ManifestKind manifest_kind(const ManifestBlob& m, const std::string& what) {
  json::Json doc = json::parse(m.body, what);
  json::Node root(doc, what);
  if (!doc.is_object()) root.expected("a JSON object");
  std::string mt = root.str_or("mediaType", "");
  if (mt.empty()) mt = m.media_type;
  if (is_schema1(mt) || root.i64_or("schemaVersion", 2) == 1) schema1_error(what);
  if (mt == media::oci_index || mt == media::docker_list) return ManifestKind::index;
  if (mt == media::oci_manifest || mt == media::docker_manifest) return ManifestKind::image;
  // OCI documents may omit mediaType: decide by content.
  if (mt.empty() || mt == "application/json") {
    if (doc.contains("manifests")) return ManifestKind::index;
    if (doc.contains("config") && doc.contains("layers")) return ManifestKind::image;
  }
  throw Error(what + ": unsupported manifest media type \"" + mt + "\"");
}

std::vector<Descriptor> parse_index(const ManifestBlob& m, const std::string& what) {
  json::Json doc = json::parse(m.body, what);
  json::Node root(doc, what);
  std::vector<Descriptor> out;
  for (const auto& e : root.at("manifests").items()) {
    Descriptor d = parse_descriptor(e);
    if (d.media_type == media::oci_manifest || d.media_type == media::docker_manifest ||
        d.media_type.empty())
      out.push_back(std::move(d));
  }
  return out;
}

ImageManifest parse_image_manifest(const ManifestBlob& m, const std::string& what) {
  json::Json doc = json::parse(m.body, what);
  json::Node root(doc, what);
  ImageManifest im;
  im.config = parse_descriptor(root.at("config"));
  for (const auto& l : root.at("layers").items()) {
    Descriptor d = parse_descriptor(l);
    if (!is_supported_layer_type(d.media_type))
      l.at("mediaType").fail("unsupported layer media type \"" + d.media_type + "\"");
    im.layers.push_back(std::move(d));
  }
  return im;
}

bool is_supported_layer_type(const std::string& mt) {
  return mt == "application/vnd.oci.image.layer.v1.tar" ||
         mt == "application/vnd.oci.image.layer.v1.tar+gzip" ||
         mt == "application/vnd.oci.image.layer.v1.tar+zstd" ||
         mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
         mt == "application/vnd.docker.image.rootfs.diff.tar" ||
         mt == "application/vnd.docker.image.rootfs.diff.tar.zstd";
}

}  // namespace ecsa::oci
