// ECR credentials: ecr:GetAuthorizationToken signed with SigV4 by libcurl and checked by
// botocore on a loopback HTTPS endpoint; AWS credentials from the environment, the shared
// credentials file (re-read when it changes) and the container credentials endpoint; the
// token then used as Basic credentials against a real registry.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/ecr_auth.hpp"
#include "oci/pull.hpp"
#include "oci/registry_client.hpp"
#include "tests/support/registry.hpp"
#include "tests/support/registry_ecr.hpp"
#include "tests/support/registry_http_server.hpp"

using namespace ecsa;
using namespace ecsa::oci;
using ecsa::test::EcrTokenEndpoint;
using ecsa::test::ScopedEnv;

namespace {

struct AwsEnv {
  // Start from no AWS configuration at all.
  ScopedEnv a{"AWS_ACCESS_KEY_ID", nullptr}, b{"AWS_SECRET_ACCESS_KEY", nullptr},
      c{"AWS_SESSION_TOKEN", nullptr}, d{"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds"},
      e{"AWS_PROFILE", nullptr}, f{"AWS_CONTAINER_CREDENTIALS_FULL_URI", nullptr},
      g{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", nullptr},
      h{"AWS_CONTAINER_AUTHORIZATION_TOKEN", nullptr}, i{"ECSA_ECR_ENDPOINT", nullptr},
      j{"ECSA_ECR_CACHE", "none"};
};

EcrOptions at(const EcrTokenEndpoint& ep) {
  EcrOptions o;
  o.endpoint = ep.url();
  return o;
}

test::EcrEndpointOptions endpoint_with(std::string session_token, std::string password) {
  test::EcrEndpointOptions o;
  if (!session_token.empty()) o.session_token = session_token;
  if (!password.empty()) o.password = password;
  return o;
}

bool usable() {
  if (!test::botocore_available()) {
    WARN("python3-botocore not installed: skipped");
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("ECR token with environment credentials, signed and cached",
          "[integration][oci][ecr]") {
  if (!usable()) return;
  AwsEnv clean;
  EcrTokenEndpoint ep;
  ScopedEnv ca("ECSA_ECR_CA_FILE", ep.ca_file());
  ScopedEnv ak("AWS_ACCESS_KEY_ID", "AKIDECSATEST0000001");
  auto reg = parse_ecr_host("123456789012.dkr.ecr.us-west-2.amazonaws.com");
  REQUIRE(reg);

  SECTION("right secret: token, then the cache") {
    ScopedEnv sk("AWS_SECRET_ACCESS_KEY", "ecsa/test+secret/key0000000000000000000");
    Credentials c = ecr_credentials(*reg, at(ep));
    CHECK(c.username == "AWS");
    CHECK(c.password == "ecr-token-password");
    Credentials again = ecr_credentials(*reg, at(ep));
    CHECK(again.password == c.password);
    CHECK(ep.calls() == std::vector<std::string>{"ok us-west-2 123456789012"});
  }
  SECTION("the token file cache serves the next process, and is private") {
    ScopedEnv sk("AWS_SECRET_ACCESS_KEY", "ecsa/test+secret/key0000000000000000000");
    EcrOptions o = at(ep);
    o.cache_file = ep.dir() + "/auth/ecr-tokens.json";
    Credentials c = ecr_credentials(*reg, o);
    detail::ecr_forget_memory_cache();  // as if another `ecsa-run pull`
    Credentials again = ecr_credentials(*reg, o);
    CHECK(again.password == c.password);
    CHECK(ep.calls().size() == 1);
    struct stat st {};
    REQUIRE(stat(o.cache_file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    // A broken cache file is only a cache: ignored.
    fs::write_file_atomic(o.cache_file, "{not json");
    detail::ecr_forget_memory_cache();
    CHECK(ecr_credentials(*reg, o).password == c.password);
    CHECK(ep.calls().size() == 2);
  }
  SECTION("wrong secret: the service's reason, and no secret in the message") {
    ScopedEnv sk("AWS_SECRET_ACCESS_KEY", "definitely-wrong-secret-value");
    try {
      ecr_credentials(*reg, at(ep));
      FAIL("expected an error");
    } catch (const Error& e) {
      std::string m = e.what();
      CHECK_THAT(m, Catch::Contains("InvalidSignatureException: signature mismatch") &&
                        Catch::Contains("AWS credentials from environment"));
      CHECK_THAT(m, !Catch::Contains("definitely-wrong") && !Catch::Contains("AKIDECSATEST"));
    }
  }
}

TEST_CASE("ECR token with session credentials from the shared file, re-read when it changes",
          "[integration][oci][ecr]") {
  if (!usable()) return;
  AwsEnv clean;
  EcrTokenEndpoint ep(endpoint_with("FwoGZXIvYXdzEXAMPLE//session+token==", ""));
  ScopedEnv ca("ECSA_ECR_CA_FILE", ep.ca_file());
  std::string file = ep.dir() + "/credentials";
  ScopedEnv f("AWS_SHARED_CREDENTIALS_FILE", file);
  ScopedEnv p("AWS_PROFILE", "ecs");
  auto reg = parse_ecr_host("210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com");
  REQUIRE(reg);
  CHECK(reg->fips);
  // As the SSM agent writes it, but the token is an old one.
  fs::write_file_atomic(file,
                        "[default]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = x\n\n"
                        "[ecs]\naws_access_key_id = AKIDECSATEST0000001\n"
                        "aws_secret_access_key = ecsa/test+secret/key0000000000000000000\n"
                        "aws_session_token = expired-token\n");
  CHECK_THROWS_WITH(ecr_credentials(*reg, at(ep)),
                    Catch::Contains("missing or wrong session token") &&
                        Catch::Contains("AWS credentials from " + file));
  // Rotated: the new file is picked up without restarting anything.
  fs::write_file_atomic(file,
                        "[profile ecs]\naws_access_key_id = AKIDECSATEST0000001\n"
                        "aws_secret_access_key = ecsa/test+secret/key0000000000000000000\n"
                        "aws_session_token = FwoGZXIvYXdzEXAMPLE//session+token==\n");
  Credentials c = ecr_credentials(*reg, at(ep));
  CHECK(c.password == "ecr-token-password");
  auto calls = ep.calls();
  REQUIRE(calls.size() == 2);
  CHECK(calls[1] == "ok us-gov-west-1 210987654321");
}

TEST_CASE("ECR token with container credentials, used as Basic auth on a registry",
          "[integration][oci][ecr]") {
  if (!usable() || !test::registry_tools_available()) return;
  AwsEnv clean;
  EcrTokenEndpoint ep(endpoint_with("", "token-from-ecr"));
  ScopedEnv ca("ECSA_ECR_CA_FILE", ep.ca_file());
  test::LoopbackHttpServer creds([](const test::HttpExchange& ex) {
    test::HttpReply r;
    if (ex.header("authorization") != "container-auth-token") {
      r.status = 401;
      return r;
    }
    r.body = R"({"AccessKeyId":"AKIDECSATEST0000001",)"
             R"("SecretAccessKey":"ecsa/test+secret/key0000000000000000000",)"
             R"("Token":"","Expiration":"2099-01-01T00:00:00Z"})";
    return r;
  });
  ScopedEnv full("AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.base_url() + "/v2/credentials/x");
  ScopedEnv tok("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token");

  // The ECR host is resolved the way `pull` does, with --ecr-endpoint.
  PullOptions po;
  po.ecr_endpoint = ep.url();
  ScopedEnv docker("DOCKER_CONFIG", ep.dir() + "/no-docker");
  Credentials c = resolve_credentials("123456789012.dkr.ecr.eu-central-1.amazonaws.com", po);
  CHECK(c.username == "AWS");
  CHECK(c.password == "token-from-ecr");
  CHECK(ep.calls() == std::vector<std::string>{"ok eu-central-1 123456789012"});

  // ECR accepts the token as HTTP Basic; so does a htpasswd registry for user AWS.
  test::TestRegistry reg({.tls = true, .user = "AWS", .password = "token-from-ecr"});
  reg.push_fixtures();
  ScopedEnv conf("ECSA_REGISTRIES_CONF", reg.write_registries_conf());
  RegistryClientOptions o;
  o.config = RegistriesConfig::load();
  o.credentials = [c] { return c; };
  RegistryClient client(reg.host(), "busybox", o);
  CHECK_NOTHROW(client.get_manifest("latest"));
}
