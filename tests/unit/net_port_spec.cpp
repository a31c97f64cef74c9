#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "net/network.hpp"

using ecsa::net::parse_port_spec;

TEST_CASE("port specs in docker -p syntax", "[unit][net]") {
  auto m = parse_port_spec("80");
  REQUIRE(m.size() == 1);
  CHECK(m[0].container_port == 80);
  CHECK(m[0].host_port == 0);
  CHECK(m[0].protocol == "tcp");
  CHECK(m[0].host_ip.empty());

  m = parse_port_spec("0:80");
  CHECK((m[0].host_port == 0 && m[0].container_port == 80));

  m = parse_port_spec("8080:80/udp");
  CHECK((m[0].host_port == 8080 && m[0].container_port == 80 && m[0].protocol == "udp"));

  m = parse_port_spec("127.0.0.1:8080:80");
  CHECK((m[0].host_ip == "127.0.0.1" && m[0].host_port == 8080));

  m = parse_port_spec("127.0.0.1::53/udp");
  CHECK((m[0].host_ip == "127.0.0.1" && m[0].host_port == 0 && m[0].container_port == 53));

  m = parse_port_spec("8000-8010:9000-9010/tcp");
  CHECK((m[0].host_port == 8000 && m[0].host_port_end == 8010));
  CHECK((m[0].container_port == 9000 && m[0].container_port_end == 9010));

  m = parse_port_spec("7000-7005");
  CHECK((m[0].host_port == 0 && m[0].container_port == 7000 && m[0].container_port_end == 7005));

  // A host range for one container port: any one port of the range.
  m = parse_port_spec("8000-8010:80");
  CHECK((m[0].host_port == 8000 && m[0].host_port_end == 8010 && m[0].container_port_end == 0));

  m = parse_port_spec("80,443:8443/tcp");
  REQUIRE(m.size() == 2);
  CHECK((m[1].host_port == 443 && m[1].container_port == 8443));
}

TEST_CASE("bad port specs name the spec and the problem", "[unit][net]") {
  using Catch::Matchers::Contains;
  REQUIRE_THROWS_WITH(parse_port_spec("80/sctp"), Contains("\"80/sctp\"") && Contains("sctp"));
  REQUIRE_THROWS_WITH(parse_port_spec("0"), Contains("container port \"0\""));
  REQUIRE_THROWS_WITH(parse_port_spec("70000"), Contains("out of range"));
  REQUIRE_THROWS_WITH(parse_port_spec("abc"), Contains("expected a port number"));
  REQUIRE_THROWS_WITH(parse_port_spec("1.2.3:80:80"), Contains("invalid IPv4 address"));
  REQUIRE_THROWS_WITH(parse_port_spec("8000-8001:9000-9005"), Contains("same size"));
  REQUIRE_THROWS_WITH(parse_port_spec("9005-9000"), Contains("below its start"));
  REQUIRE_THROWS_WITH(parse_port_spec("[::1]:80:80"), Contains("IPv6"));
  REQUIRE_THROWS_WITH(parse_port_spec("1:2:3:4"), Contains("too many"));
  REQUIRE_THROWS_WITH(parse_port_spec(""), Contains("empty"));
}

TEST_CASE("network bindings in ECS form", "[unit][net]") {
  ecsa::net::NetworkBinding b;
  b.bind_ip = "0.0.0.0";
  b.container_port = 80;
  b.host_port = 49153;
  b.protocol = "tcp";
  CHECK(b.to_json() ==
        nlohmann::json::parse(
            R"({"bindIP":"0.0.0.0","containerPort":80,"hostPort":49153,"protocol":"tcp"})"));
  ecsa::net::NetworkBinding r;
  r.bind_ip = "0.0.0.0";
  r.protocol = "udp";
  r.container_port_range = "8000-8010";
  r.host_port_range = "50000-50010";
  CHECK(r.to_json() ==
        nlohmann::json::parse(R"({"bindIP":"0.0.0.0","containerPortRange":"8000-8010",
                                 "hostPortRange":"50000-50010","protocol":"udp"})"));
}
