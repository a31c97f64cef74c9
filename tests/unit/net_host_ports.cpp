#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "net/host_ports.hpp"
#include "net/ipv4.hpp"

using namespace ecsa::net;

TEST_CASE("host port ranges parse as the agent reads them", "[unit][net]") {
  auto r = parse_host_port_range("32768\t60999\n");
  REQUIRE(r);
  CHECK((r->first == 32768 && r->last == 60999));
  r = parse_host_port_range("49153-65535");
  REQUIRE(r);
  CHECK((r->first == 49153 && r->last == 65535));
  CHECK_FALSE(parse_host_port_range("100-50"));
  CHECK_FALSE(parse_host_port_range("0-10"));
  CHECK_FALSE(parse_host_port_range("1-70000"));
  CHECK_FALSE(parse_host_port_range("abc"));

  setenv("ECS_DYNAMIC_HOST_PORT_RANGE", "40000-40010", 1);
  auto d = dynamic_host_port_range();
  CHECK((d.first == 40000 && d.last == 40010));
  setenv("ECS_DYNAMIC_HOST_PORT_RANGE", "bogus", 1);
  d = dynamic_host_port_range();  // falls back to the kernel's range or 49153-65535
  CHECK(d.first > 0);
  CHECK(d.first <= d.last);
  unsetenv("ECS_DYNAMIC_HOST_PORT_RANGE");
}

TEST_CASE("bind probe sees a bound port and names its holder", "[unit][net]") {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(listen(s, 1) == 0);
  socklen_t len = sizeof sa;
  getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  uint16_t port = ntohs(sa.sin_port);
  CHECK_FALSE(host_port_free("tcp", "", port));
  CHECK_FALSE(host_port_free("tcp", "127.0.0.1", port));
  std::string comm = ecsa::fs::read_file("/proc/self/comm");
  comm.pop_back();  // newline
  CHECK(host_port_holder("tcp", port) == "pid " + std::to_string(getpid()) + " (" + comm + ")");
  close(s);
  CHECK(host_port_free("tcp", "", port));
  CHECK(host_port_holder("tcp", port).empty());
  REQUIRE_THROWS_WITH(host_port_free("tcp", "203.0.113.77", port),
                      Catch::Matchers::Contains("not an address of this host"));
}

TEST_CASE("subnets parse and refuse host bits", "[unit][net]") {
  auto n = parse_ipv4_net("10.217.0.0/16", "ECSA_SUBNET");
  CHECK(format_ipv4(n.gateway()) == "10.217.0.1");
  CHECK(format_ipv4(n.broadcast()) == "10.217.255.255");
  CHECK(n.contains(parse_ipv4("10.217.3.4", "x")));
  CHECK_FALSE(n.contains(parse_ipv4("10.218.0.1", "x")));
  REQUIRE_THROWS_WITH(parse_ipv4_net("10.217.0.1/16", "ECSA_SUBNET"),
                      Catch::Matchers::Contains("host bits set"));
  REQUIRE_THROWS_WITH(parse_ipv4_net("10.217.0.0", "ECSA_SUBNET"),
                      Catch::Matchers::StartsWith("ECSA_SUBNET: expected a subnet"));
  REQUIRE_THROWS_WITH(parse_ipv4_net("10.217.0.0/31", "ECSA_SUBNET"),
                      Catch::Matchers::Contains("between 8 and 30"));
}
