// The registry client against Debian's docker-registry on 127.0.0.1 (plain HTTP, and TLS
// with htpasswd Basic auth) and against loopback servers for what docker-registry does not
// do here: Bearer tokens, redirects to another host, broken transfers.
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <fstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "oci/digest.hpp"
#include "oci/registry_client.hpp"
#include "tests/support/registry.hpp"
#include "tests/support/registry_http_server.hpp"

using namespace ecsa;
using namespace ecsa::oci;
using ecsa::test::HttpExchange;
using ecsa::test::HttpReply;
using ecsa::test::LoopbackHttpServer;
using ecsa::test::ScopedEnv;
using ecsa::test::TestRegistry;

namespace {

RegistryClientOptions fast_options() {
  RegistryClientOptions o;
  o.config = RegistriesConfig::load();
  o.retry_base_ms = 20;
  o.max_attempts = 4;
  return o;
}

std::string layout_blob(const std::string& layout, const std::string& digest) {
  return fs::read_file(layout + "/blobs/sha256/" + digest.substr(7));
}

// The busybox fixture's manifest as stored in the OCI layout.
std::string busybox_manifest_digest(const std::string& layout) {
  auto idx = json::parse(fs::read_file(layout + "/index.json"), "index.json");
  return idx["manifests"][0]["digest"].get<std::string>();
}

}  // namespace

TEST_CASE("registry client: manifests and verified blobs from a plain HTTP registry",
          "[integration][oci][registry]") {
  if (!test::registry_tools_available()) {
    WARN("docker-registry/skopeo not installed: skipped");
    return;
  }
  TestRegistry reg;
  reg.push_fixtures();
  const std::string layout = test::oci_fixture_images() + "/busybox";
  RegistryClient c(reg.host(), "busybox", fast_options());

  ManifestBlob m = c.get_manifest("latest");
  CHECK(c.base_url() == "http://" + reg.host());  // loopback: HTTPS refused, HTTP used
  CHECK(manifest_kind(m, "manifest") == ManifestKind::image);
  CHECK(m.digest == busybox_manifest_digest(layout));
  ImageManifest im = parse_image_manifest(m, "manifest");
  REQUIRE(im.layers.size() == 2);
  CHECK(im.layers[1].media_type == "application/vnd.oci.image.layer.v1.tar+zstd");

  // By digest, verified.
  CHECK(c.get_manifest(m.digest).body == m.body);

  std::string config = c.get_blob(im.config);
  CHECK(sha256_digest(config) == im.config.digest);
  for (const auto& l : im.layers) {
    std::string got;
    c.fetch_blob(l, [&](const char* p, size_t n) { got.append(p, n); });
    CHECK(got == layout_blob(layout, l.digest));
  }

  SECTION("unknown tags and digests are reported as not found") {
    CHECK_THROWS_WITH(c.get_manifest("nope"), Catch::Contains("not found") &&
                                                  Catch::Contains("MANIFEST_UNKNOWN"));
    CHECK_THROWS_WITH(c.get_manifest("sha256:" + std::string(64, '0')),
                      Catch::Contains("not found"));
  }
  SECTION("a blob whose bytes do not match its digest is rejected") {
    // Corrupt the registry's copy of the second layer (same size, different bytes).
    const Descriptor& l = im.layers[1];
    std::string path = reg.blob_path(l.digest);
    std::string data = fs::read_file(path);
    data[data.size() / 2] ^= 0x55;
    fs::write_file_atomic(path, data);
    std::string got;
    CHECK_THROWS_WITH(c.fetch_blob(l, [&](const char* p, size_t n) { got.append(p, n); }),
                      Catch::Contains("digest mismatch: expected " + l.digest));
  }
  SECTION("a descriptor with the wrong size is rejected while streaming") {
    Descriptor l = im.layers[0];
    l.size -= 10;
    CHECK_THROWS_WITH(c.fetch_blob(l, [](const char*, size_t) {}),
                      Catch::Contains("more data than the expected size"));
  }
}

TEST_CASE("registry client: TLS with a private CA and htpasswd Basic auth",
          "[integration][oci][registry]") {
  if (!test::registry_tools_available()) {
    WARN("docker-registry/skopeo not installed: skipped");
    return;
  }
  TestRegistry reg({.tls = true, .user = "ecsa", .password = "s3cret-pw"});
  reg.push_fixtures();
  auto creds = [](std::string u, std::string p) {
    return [u, p] {
      Credentials c;
      c.username = u;
      c.password = p;
      c.source = "test";
      return c;
    };
  };

  SECTION("without the CA the certificate is refused, even on loopback") {
    ScopedEnv env("ECSA_REGISTRIES_CONF", reg.dir() + "/none.json");
    auto o = fast_options();
    o.credentials = creds("ecsa", "s3cret-pw");
    RegistryClient c(reg.host(), "busybox", o);
    // Loopback falls back to plain HTTP, which the TLS registry refuses.
    CHECK_THROWS(c.get_manifest("latest"));
  }
  ScopedEnv env("ECSA_REGISTRIES_CONF", reg.write_registries_conf());
  SECTION("right credentials") {
    auto o = fast_options();
    o.credentials = creds("ecsa", "s3cret-pw");
    RegistryClient c(reg.host(), "busybox", o);
    ManifestBlob m = c.get_manifest("latest");
    CHECK(c.base_url() == "https://" + reg.host());
    ImageManifest im = parse_image_manifest(m, "manifest");
    CHECK(sha256_digest(c.get_blob(im.config)) == im.config.digest);
  }
  SECTION("no credentials") {
    RegistryClient c(reg.host(), "busybox", fast_options());
    CHECK_THROWS_WITH(c.get_manifest("latest"),
                      Catch::Contains("authentication required and no credentials found"));
  }
  SECTION("wrong password: refused, and the password is not in the message") {
    auto o = fast_options();
    o.credentials = creds("ecsa", "wrong-pw-123");
    RegistryClient c(reg.host(), "busybox", o);
    try {
      c.get_manifest("latest");
      FAIL("expected an error");
    } catch (const Error& e) {
      std::string msg = e.what();
      CHECK_THAT(msg, Catch::Contains("401") && Catch::Contains("credentials from test"));
      CHECK_THAT(msg, !Catch::Contains("wrong-pw-123"));
    }
  }
  SECTION("insecure: true skips verification") {
    ScopedEnv env2("ECSA_REGISTRIES_CONF", reg.write_registries_conf(true));
    fs::remove_all(reg.ca_file());  // a missing CA file would be an error, so use insecure only
    fs::write_file_atomic(reg.dir() + "/registries.json",
                          "{\"registries\": {\"" + reg.host() + "\": {\"insecure\": true}}}");
    auto o = fast_options();
    o.credentials = creds("ecsa", "s3cret-pw");
    RegistryClient c(reg.host(), "busybox", o);
    CHECK_NOTHROW(c.get_manifest("latest"));
  }
}

namespace {

// A registry on loopback that wants Bearer tokens from its own /token endpoint and sends
// blobs to a second server on another port (as ECR sends them to S3).
struct FakeTokenRegistry {
  std::string layout;
  std::string user, password;  // required at /token when set
  std::atomic<int> cut_blob_once{0};   // first blob transfer breaks after this many bytes
  std::atomic<int> fail_503{0};        // this many 503 replies before serving a manifest
  std::atomic<int> fail_429{0};        // this many 429 (Retry-After: 1) replies
  std::string refresh_token;           // accepted by the OAuth2 POST form of /token
  std::unique_ptr<LoopbackHttpServer> blobs, api;

  explicit FakeTokenRegistry(std::string l) : layout(std::move(l)) {
    blobs = std::make_unique<LoopbackHttpServer>([this](const HttpExchange& ex) {
      HttpReply r;
      std::string hex = ex.path().substr(ex.path().rfind('/') + 1);
      std::string data = fs::read_file(layout + "/blobs/sha256/" + hex);
      r.headers.push_back({"Content-Type", "application/octet-stream"});
      if (ex.has("range")) {
        long long from = std::stoll(ex.header("range").substr(6));
        r.status = 206;
        r.headers.push_back({"Content-Range", "bytes " + std::to_string(from) + "-" +
                                                  std::to_string(data.size() - 1) + "/" +
                                                  std::to_string(data.size())});
        r.body = data.substr(size_t(from));
      } else {
        r.body = data;
        if (int cut = cut_blob_once.exchange(0); cut > 0) r.cut_after = cut;
      }
      return r;
    });
    api = std::make_unique<LoopbackHttpServer>([this](const HttpExchange& ex) {
      HttpReply r;
      if (ex.path() == "/token" && ex.method == "POST") {
        if (refresh_token.empty() ||
            ex.body.find("grant_type=refresh_token") == std::string::npos ||
            ex.body.find("refresh_token=" + refresh_token) == std::string::npos) {
          r.status = 401;
          return r;
        }
        r.body = "{\"access_token\": \"tok-123\", \"expires_in\": 300}";
        return r;
      }
      if (ex.path() == "/token") {
        if (!user.empty() && ex.header("authorization") !=
                                 "Basic " + oci::base64_encode(user + ":" + password)) {
          r.status = 401;
          return r;
        }
        r.body = "{\"token\": \"tok-123\", \"expires_in\": 300}";
        return r;
      }
      if (ex.header("authorization") != "Bearer tok-123") {
        r.status = 401;
        r.headers.push_back({"WWW-Authenticate", "Bearer realm=\"" + api->base_url() +
                                                     "/token\",service=\"fake\""});
        r.body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}";
        return r;
      }
      if (ex.path() == "/v2/") return r;
      if (ex.path().find("/manifests/") != std::string::npos) {
        if (fail_429 > 0) {
          --fail_429;
          r.status = 429;
          r.headers.push_back({"Retry-After", "1"});
          return r;
        }
        if (fail_503 > 0) {
          --fail_503;
          r.status = 503;
          return r;
        }
        std::string d = busybox_manifest_digest(layout);
        r.body = fs::read_file(layout + "/blobs/sha256/" + d.substr(7));
        r.headers.push_back({"Content-Type", "application/vnd.oci.image.manifest.v1+json"});
        return r;
      }
      if (ex.path().find("/blobs/") != std::string::npos) {
        std::string hex = ex.path().substr(ex.path().rfind(':') + 1);
        r.status = 307;
        r.headers.push_back({"Location", blobs->base_url() + "/bucket/" + hex +
                                             "?X-Amz-Signature=abc&X-Amz-Credential=x"});
        return r;
      }
      r.status = 404;
      return r;
    });
  }
};

}  // namespace

TEST_CASE("registry client: Bearer tokens, redirects without credentials, resume, retries",
          "[integration][oci][registry]") {
  const std::string layout = test::oci_fixture_images() + "/busybox";
  FakeTokenRegistry fake(layout);
  fake.user = "robot";
  fake.password = "tok-pass";
  auto o = fast_options();
  o.credentials = [] {
    Credentials c;
    c.username = "robot";
    c.password = "tok-pass";
    c.source = "test";
    return c;
  };
  fake.fail_503 = 2;
  RegistryClient c(fake.api->host(), "team/app", o);
  ManifestBlob m = c.get_manifest("latest");
  ImageManifest im = parse_image_manifest(m, "manifest");

  // The token request carried the service and the repository scope, with Basic credentials.
  bool saw_token = false;
  for (const auto& ex : fake.api->requests())
    if (ex.path() == "/token") {
      saw_token = true;
      CHECK(ex.target.find("service=fake") != std::string::npos);
      CHECK(ex.target.find("scope=repository%3Ateam%2Fapp%3Apull") != std::string::npos);
    }
  CHECK(saw_token);

  const Descriptor& big = im.layers[0];
  fake.cut_blob_once = int(big.size / 3);
  std::string got;
  size_t calls = 0;
  c.fetch_blob(big, [&](const char* p, size_t n) {
    got.append(p, n);
    ++calls;
  });
  CHECK(got == layout_blob(layout, big.digest));

  auto reqs = fake.blobs->requests();
  REQUIRE(reqs.size() == 2);
  for (const auto& ex : reqs) CHECK_FALSE(ex.has("authorization"));  // never to the other host
  CHECK_FALSE(reqs[0].has("range"));
  // Resumed from the byte reached (what arrived before the reset, at most the cut point).
  std::string range = reqs[1].header("range");
  REQUIRE(range.rfind("bytes=", 0) == 0);
  long long from = std::stoll(range.substr(6));
  CHECK(from > 0);
  CHECK(from <= big.size / 3);
  // Both blob requests went through the registry first (a fresh redirect for the resume).
  int blob_api = 0;
  for (const auto& ex : fake.api->requests())
    if (ex.path().find("/blobs/") != std::string::npos) {
      ++blob_api;
      CHECK(ex.header("authorization") == "Bearer tok-123");
    }
  CHECK(blob_api == 2);
}

TEST_CASE("registry client: anonymous Bearer token refused names the cause",
          "[integration][oci][registry]") {
  FakeTokenRegistry fake(test::oci_fixture_images() + "/busybox");
  fake.user = "someone";
  fake.password = "x";
  RegistryClient c(fake.api->host(), "app", fast_options());
  CHECK_THROWS_WITH(c.get_manifest("latest"), Catch::Contains("anonymous access refused"));
}

TEST_CASE("registry client: OAuth2 refresh token and 429 Retry-After",
          "[integration][oci][registry]") {
  FakeTokenRegistry fake(test::oci_fixture_images() + "/busybox");
  fake.user = "nobody-uses-basic";
  fake.refresh_token = "refresh-abc";
  fake.fail_429 = 1;
  auto o = fast_options();
  o.credentials = [] {
    Credentials c;
    c.identity_token = "refresh-abc";
    c.source = "test";
    return c;
  };
  RegistryClient c(fake.api->host(), "app", o);
  auto t0 = std::chrono::steady_clock::now();
  CHECK_NOTHROW(c.get_manifest("latest"));
  // The server asked for 1 s, far more than the test's 20 ms backoff.
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(950));
}
