// `pull`: resolves a reference to one platform's image, downloads the missing layers in
// parallel straight into the layer store (verified while they stream), and commits the
// image record last, so an interrupted or failed pull leaves no image behind.
#pragma once
#include <optional>
#include <string>

#include "oci/image_store.hpp"
#include "oci/platform.hpp"
#include "oci/progress.hpp"
#include "oci/registry_credentials.hpp"

namespace ecsa::oci {

struct PullOptions {
  std::string reference;
  std::optional<Platform> platform;  // default: host_platform()
  int parallel = 3;                  // layers downloaded at once
  // Also keep each downloaded layer's compressed blob in the store (blobs/), verified;
  // layers missing later are then extracted from it instead of downloaded again.
  bool keep_blobs = false;
  // Credentials given explicitly (agent auth JSON or --creds); else Docker config, then ECR.
  std::optional<Credentials> credentials;
  std::string ecr_endpoint;  // override of the ECR API endpoint (tests); else $ECSA_ECR_ENDPOINT
  Progress* progress = nullptr;
  // Retry tuning (tests make it fast).
  int max_attempts = 5;
  int retry_base_ms = 500;
};

ImageRecord pull_image(ImageStore& store, const PullOptions& opts);

// Credentials for a registry in the documented order: explicit, Docker config.json, ECR.
Credentials resolve_credentials(const std::string& domain, const PullOptions& opts);

}  // namespace ecsa::oci
