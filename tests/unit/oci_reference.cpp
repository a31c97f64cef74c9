// Reference parsing and normalisation as Docker/containerd do it.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "oci/reference.hpp"

using ecsa::oci::parse_reference;

TEST_CASE("references normalise like Docker's", "[unit][oci]") {
  const std::string d = "sha256:" + std::string(64, 'a');
  struct Case {
    std::string in, domain, path, tag, digest, str;
  };
  std::vector<Case> cases = {
      {"busybox", "docker.io", "library/busybox", "latest", "", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io", "library/busybox", "1.36", "", "docker.io/library/busybox:1.36"},
      {"user/app", "docker.io", "user/app", "latest", "", "docker.io/user/app:latest"},
      {"docker.io/busybox", "docker.io", "library/busybox", "latest", "", ""},
      {"index.docker.io/library/busybox:x", "docker.io", "library/busybox", "x", "", ""},
      {"localhost/app", "localhost", "app", "latest", "", "localhost/app:latest"},
      {"localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", "", ""},
      {"127.0.0.1:5000/busybox@" + d, "127.0.0.1:5000", "busybox", "", d,
       "127.0.0.1:5000/busybox@" + d},
      {"ghcr.io/o/r:t@" + d, "ghcr.io", "o/r", "t", d, "ghcr.io/o/r:t@" + d},
      {"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:prod",
       "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "team/app", "prod", "", ""},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", "", ""},
      {"a__b/c-d.e_f---g", "docker.io", "a__b/c-d.e_f---g", "latest", "", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto r = parse_reference(c.in);
    CHECK(r.domain == c.domain);
    CHECK(r.path == c.path);
    CHECK(r.tag == c.tag);
    CHECK(r.digest == c.digest);
    if (!c.str.empty()) CHECK(r.str() == c.str);
  }
  CHECK(parse_reference("busybox").registry_host() == "registry-1.docker.io");
  CHECK(parse_reference("busybox").manifest_ref() == "latest");
  CHECK(parse_reference("x@" + d).manifest_ref() == d);
}

TEST_CASE("bad references are rejected with the reason", "[unit][oci]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse_reference(""), Contains("empty"));
  CHECK_THROWS_WITH(parse_reference("Busybox"), Contains("must be lowercase"));
  CHECK_THROWS_WITH(parse_reference("busybox:"), Contains("invalid tag"));
  CHECK_THROWS_WITH(parse_reference("busybox:-x"), Contains("invalid tag"));
  CHECK_THROWS_WITH(parse_reference("busybox@sha256:123"), Contains("needs 64 hex digits"));
  CHECK_THROWS_WITH(parse_reference("a//b"), Contains("invalid repository name component \"\""));
  CHECK_THROWS_WITH(parse_reference("a/-b"), Contains("component \"-b\""));
  CHECK_THROWS_WITH(parse_reference("host:x/y"), Contains("invalid registry host"));
  CHECK_THROWS_WITH(parse_reference("localhost:5000/"), Contains("missing repository name"));
  CHECK_THROWS_WITH(parse_reference("a/b:" + std::string(129, 't')), Contains("invalid tag"));
}
