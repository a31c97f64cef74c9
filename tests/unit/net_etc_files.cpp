#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "net/etc_files.hpp"

using namespace ecsa::net;
using Catch::Matchers::Contains;

TEST_CASE("hosts file has localhost, the container and extra hosts", "[unit][net]") {
  NetworkConfig cfg;
  cfg.hostname = "web";
  cfg.extra_hosts = {"db:10.0.0.5", "v6host:fd00::1", "eq=192.0.2.9"};
  NetworkState st;
  st.ip = "10.217.0.7";
  std::string h = render_hosts(cfg, st, "task-web-1");
  CHECK_THAT(h, Contains("127.0.0.1\tlocalhost\n"));
  CHECK_THAT(h, Contains("::1\tlocalhost ip6-localhost ip6-loopback\n"));
  CHECK_THAT(h, Contains("10.217.0.7\tweb task-web-1\n"));
  CHECK_THAT(h, Contains("10.0.0.5\tdb\n"));
  CHECK_THAT(h, Contains("fd00::1\tv6host\n"));
  CHECK_THAT(h, Contains("192.0.2.9\teq\n"));
  cfg.extra_hosts = {"nohost"};
  REQUIRE_THROWS_WITH(render_hosts(cfg, st, "x"), Contains("\"nohost\": expected name:ip"));

  NetworkConfig none;
  none.mode = "none";
  CHECK_THAT(render_hosts(none, NetworkState{}, "c"), Contains("127.0.1.1\tc\n"));
  CHECK(container_hostname(NetworkConfig{}, "name") == "name");
  CHECK(container_hostname(NetworkConfig{}, std::string(100, 'a')).size() == 63);
}

TEST_CASE("resolv.conf replaces loopback resolvers", "[unit][net]") {
  NetworkConfig cfg;
  std::string stub = "# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
  std::string upstream = "nameserver 192.168.1.1\nnameserver 127.0.0.1\nsearch corp\n";
  // systemd-resolved: the upstream servers, the host's search and options.
  CHECK(render_resolv_conf(cfg, stub, upstream) ==
        "nameserver 192.168.1.1\nsearch lan\noptions edns0 trust-ad\n");
  // No upstream file and only loopback: public fallback.
  CHECK(render_resolv_conf(cfg, stub, std::nullopt) ==
        "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\noptions edns0 trust-ad\n");
  // Mixed: loopback dropped, the others kept.
  CHECK(render_resolv_conf(cfg, "nameserver 127.0.0.1\nnameserver 10.1.1.1\n", std::nullopt) ==
        "nameserver 10.1.1.1\n");
  // Plain host file is copied.
  CHECK(render_resolv_conf(cfg, "nameserver 10.255.255.53\n", std::nullopt) ==
        "nameserver 10.255.255.53\n");
  // Host mode keeps loopback resolvers: they are reachable.
  NetworkConfig host;
  host.mode = "host";
  CHECK(render_resolv_conf(host, stub, upstream) ==
        "nameserver 127.0.0.53\nsearch lan\noptions edns0 trust-ad\n");
  // Explicit settings win.
  cfg.dns = {"1.1.1.1"};
  cfg.dns_search = {"example.com", "svc.local"};
  cfg.dns_options = {"ndots:2"};
  CHECK(render_resolv_conf(cfg, stub, std::nullopt) ==
        "nameserver 1.1.1.1\nsearch example.com svc.local\noptions ndots:2\n");
  cfg.dns_search = {"."};
  CHECK(render_resolv_conf(cfg, stub, std::nullopt) == "nameserver 1.1.1.1\noptions ndots:2\n");
}
