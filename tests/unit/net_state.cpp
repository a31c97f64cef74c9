// The on-disk network state: reservations that must survive torn files and in-place cursors.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "net/state.hpp"

using namespace ecsa;
using namespace ecsa::net;

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ecsa-net-state.XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
};

ContainerNet container(const std::string& id, const std::string& ip) {
  ContainerNet c;
  c.id = id;
  c.bridge = "ecsa0";
  c.table = "ecsa";
  c.ip = ip;
  c.gateway = "10.217.0.1";
  c.prefix_len = 16;
  c.veth_host = "ve0123456789ab";
  c.netns_pid = 42;
  c.netns_start_time = 7;
  c.ports.push_back({"", "tcp", 49200, 80, 1});
  return c;
}
}  // namespace

TEST_CASE("network state: a torn file is skipped and reported, the others load", "[unit][net]") {
  TempDir d;
  StateDir sd(d.path + "/net");
  auto lock = sd.lock();
  sd.save(container("a", "10.217.0.2"));
  sd.save(container("b", "10.217.0.3"));
  fs::write_file_atomic(d.path + "/net/containers/torn.json", "{\"id\": \"torn\", ");
  std::vector<std::string> torn;
  auto all = sd.load_all(&torn);
  REQUIRE(all.size() == 2);
  CHECK(torn == std::vector<std::string>{"torn"});
  auto a = sd.load("a");
  REQUIRE(a);
  CHECK(a->ip == "10.217.0.2");
  CHECK(a->netns_start_time == 7);
  REQUIRE(a->ports.size() == 1);
  CHECK(a->ports[0].host_port == 49200);
  auto st = a->to_network_state();
  REQUIRE(st.bindings.size() == 1);
  CHECK(st.bindings[0].to_json()["hostPort"] == 49200);
  sd.remove("torn");
  sd.remove("torn");  // already gone: fine
  torn.clear();
  CHECK(sd.load_all(&torn).size() == 2);
  CHECK(torn.empty());
}

TEST_CASE("network state: cursors are overwritten in place", "[unit][net]") {
  TempDir d;
  StateDir sd(d.path + "/net");
  auto lock = sd.lock();
  CHECK(sd.cursor("last_ip") == 0);
  sd.set_cursor("last_ip", 4294967295u);
  CHECK(sd.cursor("last_ip") == 4294967295u);
  sd.set_cursor("last_ip", 5);  // shorter: no digits of the old value may remain
  CHECK(sd.cursor("last_ip") == 5);
  // A cursor written by an older version (no padding) is read and overwritten alike.
  fs::write_file_atomic(d.path + "/net/last_port", "61000\n");
  CHECK(sd.cursor("last_port") == 61000);
  sd.set_cursor("last_port", 7);
  CHECK(sd.cursor("last_port") == 7);
}
