// Registry-side parsing: WWW-Authenticate challenges, credentials (X-Registry-Auth, --creds,
// Docker config.json), ECR host names and token replies, AWS shared credentials, manifests.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/aws_credentials.hpp"
#include "oci/ecr_auth.hpp"
#include "oci/registry_auth.hpp"
#include "oci/registry_config.hpp"
#include "oci/registry_credentials.hpp"
#include "oci/registry_http.hpp"
#include "oci/registry_manifest.hpp"

using namespace ecsa;
using namespace ecsa::oci;

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/ecsa-unit-oci-XXXXXX";
    if (!mkdtemp(t)) throw_errno("mkdtemp");
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
};
}  // namespace

TEST_CASE("WWW-Authenticate challenges", "[unit][oci]") {
  auto chs = parse_www_authenticate(
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")"});
  REQUIRE(chs.size() == 1);
  CHECK(chs[0].scheme == "bearer");
  CHECK(chs[0].params["realm"] == "https://auth.docker.io/token");
  CHECK(chs[0].params["service"] == "registry.docker.io");
  CHECK(chs[0].params["scope"] == "repository:library/busybox:pull");
  auto ecr = parse_www_authenticate(
      {R"(Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com")"});
  REQUIRE(ecr.size() == 1);
  CHECK(ecr[0].scheme == "basic");
  CHECK(ecr[0].params["service"] == "ecr.amazonaws.com");
  auto two = parse_www_authenticate({R"(Basic realm="x", Bearer realm="y",error="insufficient_scope")"});
  REQUIRE(two.size() == 2);
  CHECK(two[1].scheme == "bearer");
  CHECK(two[1].params["error"] == "insufficient_scope");
  auto bare = parse_www_authenticate({"Basic"});
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].params.empty());
}

TEST_CASE("base64 both alphabets and Basic headers", "[unit][oci]") {
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_decode("Zm9vYg", "x") == "foob");
  CHECK(base64_decode("-_8=", "x") == base64_decode("+/8=", "x"));
  CHECK_THROWS_WITH(base64_decode("a*b", "field"), Catch::Contains("field: invalid base64"));
  Credentials c;
  c.username = "AWS";
  c.password = "pw";
  CHECK(basic_auth_header(c) == "Basic " + base64_encode("AWS:pw"));
}

TEST_CASE("credentials from X-Registry-Auth and --creds", "[unit][oci]") {
  std::string json = R"({"username":"u","password":"p:w","serveraddress":"r.example"})";
  std::string b64url = base64_encode(json);
  for (auto& ch : b64url) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  while (!b64url.empty() && b64url.back() == '=') b64url.pop_back();
  for (const auto& text : {b64url, json, b64url + "\n"}) {
    Credentials c = parse_registry_auth(text, "auth");
    CHECK(c.username == "u");
    CHECK(c.password == "p:w");
  }
  Credentials tok = parse_registry_auth(R"({"identitytoken":"refresh"})", "auth");
  CHECK(tok.identity_token == "refresh");
  CHECK_THROWS_WITH(parse_registry_auth("", "auth-file"), Catch::Contains("empty"));
  CHECK_THROWS_WITH(parse_registry_auth("[1]", "auth-file"), Catch::Contains("expected an object"));
  Credentials f = parse_creds_flag("user:pa:ss");
  CHECK(f.username == "user");
  CHECK(f.password == "pa:ss");
  CHECK_THROWS_WITH(parse_creds_flag("nopass"), Catch::Contains("USER:PASSWORD"));
}

TEST_CASE("Docker config.json: auths keys, Docker Hub aliases, credsStore helper",
          "[unit][oci]") {
  TempDir t;
  std::string cfg = t.path + "/config.json";
  fs::write_file_atomic(cfg, R"({"auths": {
      "https://index.docker.io/v1/": {"auth": ")" + base64_encode("hub:hubpw") + R"("},
      "https://reg.example:5000/v2/": {"username": "u2", "password": "p2"},
      "token.example": {"identitytoken": "idt"}}})");
  auto hub = docker_config_credentials_from(cfg, "docker.io");
  REQUIRE(hub);
  CHECK(hub->username == "hub");
  CHECK(hub->password == "hubpw");
  auto r2 = docker_config_credentials_from(cfg, "reg.example:5000");
  REQUIRE(r2);
  CHECK(r2->password == "p2");
  CHECK(docker_config_credentials_from(cfg, "token.example")->identity_token == "idt");
  CHECK_FALSE(docker_config_credentials_from(cfg, "other.example"));
  CHECK_FALSE(docker_config_credentials_from(t.path + "/missing.json", "docker.io"));

  fs::write_file_atomic(cfg, R"({"auths": {"x": {"auth": "bm9jb2xvbg=="}}})");
  CHECK_THROWS_WITH(docker_config_credentials_from(cfg, "x"),
                    Catch::Contains(".auth: expected base64 of user:password"));

  // credsStore with a helper that knows nothing: "credentials not found" means none.
  fs::write_file_atomic(t.path + "/docker-credential-none",
                        "#!/bin/sh\necho 'credentials not found in native keychain'\nexit 1\n",
                        0755);
  fs::write_file_atomic(cfg, R"({"credsStore": "none"})");
  std::string path = std::string(getenv("PATH") ? getenv("PATH") : "");
  setenv("PATH", (t.path + ":" + path).c_str(), 1);
  CHECK_FALSE(docker_config_credentials_from(cfg, "docker.io"));
  fs::write_file_atomic(t.path + "/docker-credential-none", "#!/bin/sh\nexit 3\n", 0755);
  CHECK_THROWS_WITH(docker_config_credentials_from(cfg, "docker.io"),
                    Catch::Contains("docker-credential-none get https://index.docker.io/v1/: "
                                    "exited with status 3"));
  setenv("PATH", path.c_str(), 1);
}

TEST_CASE("ECR host names", "[unit][oci]") {
  auto r = parse_ecr_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com");
  REQUIRE(r);
  CHECK(r->account == "123456789012");
  CHECK(r->region == "eu-west-1");
  CHECK_FALSE(r->fips);
  CHECK(r->api_endpoint() == "https://api.ecr.eu-west-1.amazonaws.com/");
  auto cn = parse_ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn");
  REQUIRE(cn);
  CHECK(cn->api_endpoint() == "https://api.ecr.cn-north-1.amazonaws.com.cn/");
  auto fips = parse_ecr_host("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com");
  REQUIRE(fips);
  CHECK(fips->api_endpoint() == "https://api.ecr-fips.us-east-1.amazonaws.com/");
  CHECK(parse_ecr_host("123456789012.dkr-ecr.us-east-1.on.aws"));
  CHECK_FALSE(parse_ecr_host("12345678901.dkr.ecr.eu-west-1.amazonaws.com"));
  CHECK_FALSE(parse_ecr_host("public.ecr.aws"));
  CHECK_FALSE(parse_ecr_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com:443x"));
  CHECK_FALSE(parse_ecr_host("123456789012.dkr.ecr..amazonaws.com"));
  CHECK_FALSE(parse_ecr_host("123456789012.dkr.ecr.-x.amazonaws.com"));
  CHECK_FALSE(parse_ecr_host("123456789012.dkr.ecrx.eu-west-1.amazonaws.com"));
  CHECK_FALSE(parse_ecr_host("123456789012.dkr.ecr.eu-west-1.evil.com"));
  CHECK(parse_ecr_host("123456789012.dkr.ecr.eu_x-1.amazonaws.eu"));
}

TEST_CASE("ECR token replies", "[unit][oci]") {
  double exp = 0;
  Credentials c = parse_ecr_token_reply(
      R"({"authorizationData":[{"authorizationToken":")" + base64_encode("AWS:secret:pw") +
          R"(","expiresAt":1.7000432E9,"proxyEndpoint":"https://1.dkr.ecr.x.amazonaws.com"}]})",
      &exp);
  CHECK(c.username == "AWS");
  CHECK(c.password == "secret:pw");
  CHECK(exp == Approx(1.7000432e9));
  CHECK_THROWS_WITH(parse_ecr_token_reply(R"({"authorizationData":[]})", nullptr),
                    Catch::Contains("authorizationData: expected exactly 1 entry"));
}

TEST_CASE("AWS shared credentials file profiles", "[unit][oci]") {
  std::string text =
      "# rotated by the SSM agent\n[default]\naws_access_key_id = AK1\n"
      "aws_secret_access_key=SK1\naws_session_token = T1\n\n[profile other]\n"
      "aws_access_key_id=AK2\naws_secret_access_key=SK2\n[broken]\naws_access_key_id=AK3\n";
  auto d = parse_shared_credentials(text, "default", "f");
  REQUIRE(d);
  CHECK(d->access_key_id == "AK1");
  CHECK(d->secret_access_key == "SK1");
  CHECK(d->session_token == "T1");
  auto o = parse_shared_credentials(text, "other", "f");
  REQUIRE(o);
  CHECK(o->session_token.empty());
  CHECK_FALSE(parse_shared_credentials(text, "broken", "f"));
  CHECK_FALSE(parse_shared_credentials(text, "missing", "f"));
}

TEST_CASE("registries.json and loopback hosts", "[unit][oci]") {
  TempDir t;
  std::string p = t.path + "/registries.json";
  CHECK(RegistriesConfig::load_file(p).hosts.empty());
  fs::write_file_atomic(t.path + "/ca.pem", "x");
  fs::write_file_atomic(p, R"({"registries": {"reg.local:5000": {"ca_file": ")" + t.path +
                               R"(/ca.pem"}, "plain.local": {"http": true, "insecure": true}}})");
  auto cfg = RegistriesConfig::load_file(p);
  CHECK(cfg.for_host("reg.local:5000").ca_file == t.path + "/ca.pem");
  CHECK(cfg.for_host("plain.local:8080").plain_http);
  CHECK(cfg.for_host("plain.local").insecure);
  CHECK_FALSE(cfg.for_host("other").plain_http);
  fs::write_file_atomic(p, R"({"registries": {"a": {"insecure": "yes"}}})");
  CHECK_THROWS_WITH(RegistriesConfig::load_file(p), Catch::Contains("registries.a.insecure"));
  fs::write_file_atomic(p, R"({"registries": {"a": {"ca_file": "/nonexistent.pem"}}})");
  CHECK_THROWS_WITH(RegistriesConfig::load_file(p),
                    Catch::Contains("registries.a.ca_file: CA file /nonexistent.pem does not exist"));
  CHECK(is_loopback_host("127.0.0.1:5000"));
  CHECK(is_loopback_host("127.3.4.5"));
  CHECK(is_loopback_host("[::1]:5000"));
  CHECK(is_loopback_host("localhost:80"));
  CHECK_FALSE(is_loopback_host("128.0.0.1"));
  CHECK_FALSE(is_loopback_host("registry-1.docker.io"));
}

TEST_CASE("manifest kinds and schema 1", "[unit][oci]") {
  ManifestBlob idx{"", "", R"({"schemaVersion":2,"manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:)" +
                               std::string(64, 'a') + R"(","size":10,
       "platform":{"os":"linux","architecture":"arm","variant":"v7"}},
      {"mediaType":"application/vnd.in-toto+json","digest":"sha256:)" + std::string(64, 'b') +
                               R"(","size":1}]})"};
  CHECK(manifest_kind(idx, "m") == ManifestKind::index);
  auto entries = parse_index(idx, "m");
  REQUIRE(entries.size() == 1);  // unknown media types are ignored
  CHECK(entries[0].platform->variant == "v7");
  ManifestBlob s1{"application/vnd.docker.distribution.manifest.v1+prettyjws", "",
                  R"({"schemaVersion":1,"fsLayers":[]})"};
  CHECK_THROWS_WITH(manifest_kind(s1, "manifest x"),
                    Catch::Contains("manifest x: Docker schema 1 manifests are not supported"));
  ManifestBlob foreign{"application/vnd.docker.distribution.manifest.v2+json", "",
                       R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:)" +
                           std::string(64, 'c') + R"(","size":1},"layers":[{"mediaType":
                       "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":
                       "sha256:)" + std::string(64, 'd') + R"(","size":5}]})"};
  CHECK_THROWS_WITH(parse_image_manifest(foreign, "m"),
                    Catch::Contains("m.layers[0].mediaType: unsupported layer media type"));
}

TEST_CASE("URLs for messages and redirects", "[unit][oci]") {
  CHECK(url_for_message("https://s3/x?X-Amz-Signature=secret") == "https://s3/x");
  CHECK(resolve_url("https://a:5000/v2/x/blobs/y", "/other") == "https://a:5000/other");
  CHECK(resolve_url("https://a/v2/", "http://b:9/z?q=1") == "http://b:9/z?q=1");
  CHECK(url_origin("https://A.example/x") == "https://a.example:443");
  CHECK(url_origin("http://127.0.0.1:5000/v2/") == "http://127.0.0.1:5000");
}
