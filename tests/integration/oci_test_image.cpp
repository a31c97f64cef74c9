#include "tests/integration/oci_test_image.hpp"

#include <nlohmann/json.hpp>

#include "common/fs.hpp"
#include "oci/digest.hpp"
#include "oci/platform.hpp"

namespace ecsa::testing {

std::string write_oci_layout(const std::string& dir, const std::vector<TestLayer>& layers) {
  fs::mkdir_p(dir + "/blobs/sha256");
  auto put = [&](const std::string& data) {
    std::string d = oci::sha256_digest(data);
    fs::write_file_atomic(dir + "/blobs/sha256/" + d.substr(7), data, 0644, false);
    return d;
  };
  oci::Platform host = oci::host_platform();
  nlohmann::json config = {{"architecture", host.architecture},
                           {"os", "linux"},
                           {"config", {{"Cmd", {"/bin/sh"}}}},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
  if (!host.variant.empty()) config["variant"] = host.variant;
  nlohmann::json descs = nlohmann::json::array();
  for (const auto& l : layers) {
    config["rootfs"]["diff_ids"].push_back(l.info.diff_id);
    descs.push_back({{"mediaType", l.info.media_type},
                     {"digest", put(l.blob)},
                     {"size", l.blob.size()}});
  }
  std::string cfg = config.dump();
  std::string cfg_digest = put(cfg);
  std::string manifest = nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", cfg_digest},
        {"size", cfg.size()}}},
      {"layers", descs}}.dump();
  std::string mdigest = put(manifest);
  nlohmann::json index = {
      {"schemaVersion", 2},
      {"manifests",
       {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
         {"digest", mdigest},
         {"size", manifest.size()},
         {"annotations", {{"org.opencontainers.image.ref.name", "latest"}}}}}}};
  fs::write_file_atomic(dir + "/index.json", index.dump(), 0644, false);
  fs::write_file_atomic(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})", 0644, false);
  return cfg_digest;
}

void push_oci_layout(const test::TestRegistry& reg, const std::string& layout,
                     const std::string& repo) {
  test::run_shell("skopeo --insecure-policy copy -q --dest-tls-verify=false oci:" + layout +
                  ":latest docker://" + reg.host() + "/" + repo + ":latest");
}

std::string test_bytes(size_t n, unsigned seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    // Half the bytes from a small alphabet: gzip gets about 1.5:1, as on executables.
    s[i] = char((i & 1) ? (x & 0xff) : "abcdefgh"[x & 7]);
  }
  return s;
}

}  // namespace ecsa::testing
