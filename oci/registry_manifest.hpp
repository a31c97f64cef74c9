// Manifest documents of the distribution spec: OCI image index / Docker manifest list and
// OCI image manifest / Docker schema2 manifest (schema1 is refused with a clear error).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oci/platform.hpp"

namespace ecsa::oci::media {
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* docker_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* docker_schema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* docker_schema1_signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
// The Accept header of manifest requests, most preferred first.
inline constexpr const char* manifest_accept =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
}  // namespace ecsa::oci::media

namespace ecsa::oci {

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = -1;
  std::optional<Platform> platform;
  std::vector<std::string> urls;
};

enum class ManifestKind { index, image };

// What a manifest request returned: the bytes, their digest and type.
struct ManifestBlob {
  std::string media_type;  // from the document, else from Content-Type
  std::string digest;      // of the bytes as received
  std::string body;
};

struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

// Decides index vs image from media type and content; throws for schema1 and unknown types.
// `what` names the document in errors.
ManifestKind manifest_kind(const ManifestBlob& m, const std::string& what);
// Index entries that are image manifests (others are ignored, as the spec says).
std::vector<Descriptor> parse_index(const ManifestBlob& m, const std::string& what);
ImageManifest parse_image_manifest(const ManifestBlob& m, const std::string& what);

// Layer media types we can unpack: tar, tar+gzip, tar+zstd (OCI and Docker names).
bool is_supported_layer_type(const std::string& media_type);

}  // namespace ecsa::oci
