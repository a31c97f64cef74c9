// Bridge networking with real traffic: network namespaces created by the test stand in for
// containers and for a machine on the LAN; only loopback and those namespaces are used.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "net/host_ports.hpp"
#include "net/netns_holder.hpp"
#include "net/network.hpp"

using namespace ecsa;
using net::NetnsHolder;
using net::NetworkConfig;
using net::NetworkState;

namespace {

std::string sh(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

// A private bridge, subnet, nftables table and state dir per test run, removed at the end
// even when the test fails.
struct TestNetwork {
  std::string state, bridge, table, subnet_prefix;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_env;
  void set_env(const char* name, const std::string& value) {
    const char* old = getenv(name);
    saved_env.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    setenv(name, value.c_str(), 1);
  }
  explicit TestNetwork(int prefix_len = 24) {
    char tmpl[] = "/tmp/ecsa-net-test.XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    state = tmpl;
    int n = getpid() % 200 + 20;
    bridge = "ecsat" + std::to_string(getpid());
    table = "ecsa_" + bridge;
    subnet_prefix = "10.219." + std::to_string(n) + ".";
    set_env("ECSA_STATE_DIR", state);
    set_env("ECSA_BRIDGE", bridge);
    set_env("ECSA_SUBNET", subnet_prefix + "0/" + std::to_string(prefix_len));
  }
  ~TestNetwork() {
    try {
      net::gc_network([](const std::string&) { return false; });
      net::remove_network_if_unused();
    } catch (const std::exception& e) {
      WARN(std::string("network cleanup: ") + e.what());
    }
    sh("nft delete table ip " + table);
    sh("ip link del " + bridge);
    fs::remove_all(state);
    for (const auto& [name, value] : saved_env) {
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
    }
  }
  // Ports of the bridge once the background deletion of released links is done (teardown
  // returns before it; it must finish within seconds).
  std::vector<std::string> bridge_ports() const {
    wait_for_released_links();
    return fs::list_dir("/sys/class/net/" + bridge + "/brif");
  }
  static void wait_for_released_links() {
    for (int i = 0; i < 500 && net::links_pending_release() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(net::links_pending_release() == 0);
  }
  std::vector<std::string> state_files() const { return fs::list_dir(state + "/net/containers"); }
};

// Runs `fn` in a child process inside the network namespace of `holder`; returns what it
// wrote to the pipe (its result).
std::string in_netns(pid_t holder, const std::function<std::string()>& fn) {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    int ns = open(("/proc/" + std::to_string(holder) + "/ns/net").c_str(), O_RDONLY);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(1);
    std::string r = fn();
    if (write(p[1], r.data(), r.size()) < 0) _exit(1);
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

// A process serving in the namespace of `holder` until destroyed.
struct Server {
  pid_t pid = -1;
  Server(pid_t holder, const std::function<void()>& body) {
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int ns = open(("/proc/" + std::to_string(holder) + "/ns/net").c_str(), O_RDONLY);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(1);
      body();
      _exit(0);
    }
  }
  ~Server() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

void set_timeouts(int s, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

sockaddr_in addr(const std::string& ip, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  return sa;
}

// Body of an HTTP/1.0 GET, or "error: ..." text.
std::string http_get(const std::string& ip, uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  set_timeouts(s, 3000);
  sockaddr_in sa = addr(ip, port);
  if (connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::string e =
        std::string("error: connect ") + ip + ":" + std::to_string(port) + ": " + strerror(errno);
    close(s);
    return e;
  }
  std::string req = "GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n";
  if (write(s, req.data(), req.size()) < 0) {
    close(s);
    return "error: write";
  }
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(s, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  close(s);
  auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "error: no response" : resp.substr(body + 4);
}

// Retries while the server is still starting.
std::string http_get_retry(const std::string& ip, uint16_t port) {
  std::string r;
  for (int i = 0; i < 30; ++i) {
    r = http_get(ip, port);
    if (r.rfind("error:", 0) != 0) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return r;
}

std::string udp_roundtrip(const std::string& ip, uint16_t port, const std::string& msg) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  set_timeouts(s, 300);
  sockaddr_in sa = addr(ip, port);
  std::string got = "error: no answer";
  for (int i = 0; i < 10; ++i) {
    sendto(s, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    char buf[512];
    ssize_t n = recv(s, buf, sizeof buf, 0);
    if (n > 0) {
      got.assign(buf, static_cast<size_t>(n));
      break;
    }
  }
  close(s);
  return got;
}

void udp_echo_server(uint16_t port) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa = addr("0.0.0.0", port);
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) _exit(1);
  for (;;) {
    char buf[512];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n > 0) sendto(s, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

// Answers each TCP connection with the address it came from.
void peer_address_server(const std::string& ip, uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa = addr(ip, port);
  if (bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(s, 8) != 0) _exit(1);
  for (;;) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    int c = accept(s, reinterpret_cast<sockaddr*>(&from), &len);
    if (c < 0) continue;
    char ip_text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &from.sin_addr, ip_text, sizeof ip_text);
    if (write(c, ip_text, strlen(ip_text)) < 0) {
    }
    close(c);
  }
}

std::string read_peer_address(const std::string& ip, uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  set_timeouts(s, 3000);
  sockaddr_in sa = addr(ip, port);
  std::string out;
  for (int i = 0; i < 30; ++i) {
    if (connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      char buf[64];
      ssize_t n = read(s, buf, sizeof buf);
      if (n > 0) out.assign(buf, static_cast<size_t>(n));
      break;
    }
    close(s);
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    set_timeouts(s, 3000);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  close(s);
  return out.empty() ? "error: no answer" : out;
}

void run_httpd(const std::string& dir) {
  execl("/bin/busybox", "busybox", "httpd", "-f", "-p", "80", "-h", dir.c_str(),
        static_cast<char*>(nullptr));
  _exit(127);
}

NetworkConfig with_ports(const std::string& spec) {
  NetworkConfig cfg;
  for (const auto& s : {spec})
    for (auto& m : net::parse_port_spec(s)) cfg.ports.push_back(m);
  return cfg;
}

uint16_t host_port_of(const NetworkState& st, uint16_t container_port, const char* proto) {
  for (const auto& b : st.bindings)
    if (b.container_port == container_port && b.protocol == proto) return b.host_port;
  FAIL("no binding for container port " << container_port << "/" << proto);
  return 0;
}

// A "LAN" machine: a namespace joined to the host by a veth pair, 198.18.x.0/30 (benchmark
// address space, only between the host and this namespace).
struct Lan {
  NetnsHolder ns;
  std::string host_link, host_ip, lan_ip;
  Lan() {
    int x = getpid() % 250;
    host_link = "ecsal" + std::to_string(getpid());
    host_ip = "198.18." + std::to_string(x) + ".1";
    lan_ip = "198.18." + std::to_string(x) + ".2";
    std::string p = std::to_string(ns.pid());
    std::string out =
        sh("ip link add " + host_link + " type veth peer name eth1 netns " + p +
           " && ip addr add " + host_ip + "/30 dev " + host_link + " && ip link set " + host_link +
           " up && nsenter -t " + p + " -n sh -c 'ip addr add " + lan_ip +
           "/30 dev eth1 && ip link set eth1 up && ip link set lo up'");
    INFO(out);
    REQUIRE(out.empty());
  }
  ~Lan() { sh("ip link del " + host_link); }
};

}  // namespace

TEST_CASE("published ports are reachable from the host, containers and the LAN",
          "[integration][net]") {
  TestNetwork tn;
  std::string www = tn.state + "/www";
  fs::mkdir_p(www);
  fs::write_file_atomic(www + "/index.html", "hello from the container\n");

  NetnsHolder c1;
  NetworkConfig cfg = with_ports("0:80");
  cfg.ports.push_back(net::parse_port_spec("0:5353/udp")[0]);
  cfg.ports.push_back(net::parse_port_spec("127.0.0.1::80")[0]);
  NetworkState st = net::setup_network("web", c1.pid(), cfg);
  REQUIRE(st.ip.rfind(tn.subnet_prefix, 0) == 0);
  REQUIRE(st.gateway == tn.subnet_prefix + "1");
  REQUIRE(st.bindings.size() == 3);
  CHECK(st.bindings[2].bind_ip == "127.0.0.1");
  uint16_t local_only = st.bindings[2].host_port;
  uint16_t hp = host_port_of(st, 80, "tcp");
  uint16_t up = host_port_of(st, 5353, "udp");
  CHECK(hp != 0);
  CHECK(st.bindings[0].to_json()["bindIP"] == "0.0.0.0");

  Server httpd(c1.pid(), [&] { run_httpd(www); });
  Server echo(c1.pid(), [] { udp_echo_server(5353); });
  const std::string body = "hello from the container\n";

  SECTION("from the host via 127.0.0.1 and via the bridge address") {
    CHECK(http_get_retry("127.0.0.1", hp) == body);
    CHECK(http_get("127.0.0.1", hp) == body);
    CHECK(http_get(st.gateway, hp) == body);
    // And directly, no NAT.
    CHECK(http_get(st.ip, 80) == body);
    // A mapping bound to 127.0.0.1 answers there only.
    CHECK(http_get("127.0.0.1", local_only) == body);
    CHECK(http_get(st.gateway, local_only).rfind("error:", 0) == 0);
    CHECK(udp_roundtrip("127.0.0.1", up, "ping-udp") == "ping-udp");
    CHECK(udp_roundtrip(st.gateway, up, "ping-udp-2") == "ping-udp-2");
  }

  SECTION("from another container via host:port, and from itself") {
    REQUIRE(http_get_retry("127.0.0.1", hp) == body);
    NetnsHolder c2;
    NetworkState st2 = net::setup_network("client", c2.pid(), NetworkConfig{});
    CHECK(st2.ip != st.ip);
    CHECK(in_netns(c2.pid(), [&] { return http_get(st.gateway, hp); }) == body);
    CHECK(in_netns(c1.pid(), [&] { return http_get(st.gateway, hp); }) == body);
    CHECK(in_netns(c2.pid(), [&] { return udp_roundtrip(st.gateway, up, "c2"); }) == "c2");
    net::teardown_network("client");
  }

  SECTION("from a LAN machine, and outbound traffic leaves with the host's address") {
    REQUIRE(http_get_retry("127.0.0.1", hp) == body);
    Lan lan;
    CHECK(in_netns(lan.ns.pid(), [&] { return http_get(lan.host_ip, hp); }) == body);
    CHECK(in_netns(lan.ns.pid(), [&] { return udp_roundtrip(lan.host_ip, up, "lan"); }) == "lan");
    Server whoami(lan.ns.pid(), [&] { peer_address_server(lan.lan_ip, 7777); });
    CHECK(in_netns(c1.pid(), [&] { return read_peer_address(lan.lan_ip, 7777); }) == lan.host_ip);
  }

  net::teardown_network("web");
  CHECK(tn.bridge_ports().empty());
  CHECK(tn.state_files().empty());
  CHECK(http_get("127.0.0.1", hp).rfind("error:", 0) == 0);
}

TEST_CASE("an explicit host port in use is refused and nothing is set up", "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c;
  // Hold a port on the host.
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = addr("0.0.0.0", 0);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(listen(s, 1) == 0);
  socklen_t len = sizeof sa;
  getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  uint16_t busy = ntohs(sa.sin_port);

  std::string spec = std::to_string(busy) + ":80";
  REQUIRE_THROWS_WITH(
      net::setup_network("conflict", c.pid(), with_ports(spec)),
      Catch::Matchers::Contains("host port " + std::to_string(busy) + "/tcp is already in use") &&
          Catch::Matchers::Contains("pid " + std::to_string(getpid())));
  close(s);
  CHECK(tn.state_files().empty());
  CHECK(fs::read_file("/proc/" + std::to_string(c.pid()) + "/net/dev").find("eth0") ==
        std::string::npos);
  if (fs::exists("/sys/class/net/" + tn.bridge)) CHECK(tn.bridge_ports().empty());

  // A port another container publishes is refused naming that container.
  NetworkState st = net::setup_network("first", c.pid(), with_ports(spec));
  CHECK(host_port_of(st, 80, "tcp") == busy);
  NetnsHolder c2;
  REQUIRE_THROWS_WITH(net::setup_network("second", c2.pid(), with_ports(spec)),
                      Catch::Matchers::Contains("already published by container first"));
  CHECK(tn.state_files().size() == 1);
  CHECK(tn.bridge_ports().size() == 1);
  // Same port on UDP is another port.
  CHECK_NOTHROW(net::setup_network("second", c2.pid(), with_ports(spec + "/udp")));
  net::teardown_network("first");
  net::teardown_network("second");
  net::teardown_network("second");  // idempotent
  CHECK(tn.state_files().empty());
}

TEST_CASE("concurrent setups get distinct addresses and ports", "[integration][net]") {
  TestNetwork tn;
  constexpr int kN = 30;
  std::vector<std::unique_ptr<NetnsHolder>> holders;
  for (int i = 0; i < kN; ++i) holders.push_back(std::make_unique<NetnsHolder>());
  std::vector<NetworkState> states(kN);
  std::vector<std::string> errors(kN);
  std::vector<std::thread> threads;
  for (int i = 0; i < kN; ++i)
    threads.emplace_back([&, i] {
      try {
        NetworkConfig cfg = with_ports("0:80");
        cfg.ports.push_back(net::parse_port_spec("9000-9002")[0]);
        states[i] = net::setup_network("c" + std::to_string(i), holders[i]->pid(), cfg);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> ips;
  std::set<int> ports;
  size_t nports = 0;
  for (int i = 0; i < kN; ++i) {
    INFO(errors[i]);
    REQUIRE(errors[i].empty());
    ips.insert(states[i].ip);
    for (const auto& b : states[i].bindings) {
      if (b.host_port_range.empty()) {
        ports.insert(b.host_port);
        ++nports;
      } else {
        int first = std::stoi(b.host_port_range),
            last = std::stoi(b.host_port_range.substr(b.host_port_range.find('-') + 1));
        CHECK(last - first == 2);
        for (int p = first; p <= last; ++p, ++nports) ports.insert(p);
      }
    }
  }
  CHECK(ips.size() == kN);
  CHECK(ports.size() == nports);
  CHECK(tn.bridge_ports().size() == kN);
  for (int i = 0; i < kN; ++i) net::teardown_network("c" + std::to_string(i));
  CHECK(tn.bridge_ports().empty());
  CHECK(tn.state_files().empty());
}

TEST_CASE("gc releases containers that are gone and orphans of ours", "[integration][net]") {
  TestNetwork tn;
  auto gone = std::make_unique<NetnsHolder>();
  NetnsHolder alive;
  net::setup_network("gone", gone->pid(), with_ports("0:80"));
  NetworkState kept = net::setup_network("alive", alive.pid(), with_ports("0:81"));
  gone->stop();  // "unclean" end: nobody calls teardown

  // Leftovers no state accounts for: a map element and a veth on the bridge.
  std::string out =
      sh("nft add element ip " + tn.table +
         " hostports '{ tcp . 1 comment \"ghost\" : " + tn.subnet_prefix +
         "200 . 80 }' && ip link add ve0000000000aa type veth peer name "
         "ecsagp" +
         std::to_string(getpid() % 100000) + " && ip link set ve0000000000aa master " + tn.bridge);
  INFO(out);
  REQUIRE(out.empty());

  net::gc_network([](const std::string& id) { return id == "alive"; });
  CHECK(net::list_networked_containers() == std::vector<std::string>{"alive"});
  std::string rules = sh("nft list table ip " + tn.table);
  CHECK(rules.find("ghost") == std::string::npos);
  CHECK(rules.find("\"gone\"") == std::string::npos);
  CHECK(rules.find("\"alive\"") != std::string::npos);
  CHECK(tn.bridge_ports() == std::vector<std::string>{kept.veth_host});
  CHECK_FALSE(fs::exists("/sys/class/net/ve0000000000aa"));
  CHECK(net::network_owner_alive("alive"));

  net::gc_network([](const std::string&) { return false; });
  CHECK(net::list_networked_containers().empty());
  CHECK(net::remove_network_if_unused());
  CHECK_FALSE(fs::exists("/sys/class/net/" + tn.bridge));
  CHECK(sh("nft list tables").find(tn.table) == std::string::npos);
}

TEST_CASE("other network modes set up nothing", "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c;
  for (const char* mode : {"host", "none", "container:abc"}) {
    NetworkConfig cfg = with_ports("80:80");
    cfg.mode = mode;
    NetworkState st = net::setup_network("m", c.pid(), cfg);
    CHECK(st.ip.empty());
    CHECK(st.bindings.empty());
  }
  NetworkConfig bad;
  bad.mode = "awsvpc";
  REQUIRE_THROWS_WITH(net::setup_network("m", c.pid(), bad),
                      Catch::Matchers::Contains("network mode \"awsvpc\""));
  CHECK(tn.state_files().empty());
  REQUIRE_THROWS_WITH(net::setup_network("m", 999999999, NetworkConfig{}),
                      Catch::Matchers::Contains("does not exist"));
  REQUIRE_THROWS_WITH(net::setup_network("m", getpid(), NetworkConfig{}),
                      Catch::Matchers::Contains("in the host's network namespace"));
  CHECK(tn.state_files().empty());
}

TEST_CASE("etc files for the container", "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c;
  NetworkConfig cfg;
  cfg.hostname = "box";
  cfg.extra_hosts = {"db:10.9.9.9"};
  NetworkState st = net::setup_network("etc", c.pid(), cfg);
  std::string dir = tn.state + "/etc";
  net::write_etc_files(dir, cfg, st, "task-box");
  CHECK(fs::read_file(dir + "/hostname") == "box\n");
  std::string hosts = fs::read_file(dir + "/hosts");
  CHECK(hosts.find(st.ip + "\tbox task-box\n") != std::string::npos);
  CHECK(hosts.find("10.9.9.9\tdb\n") != std::string::npos);
  std::string resolv = fs::read_file(dir + "/resolv.conf");
  CHECK(resolv.find("nameserver ") != std::string::npos);
  CHECK(resolv.find("nameserver 127.") == std::string::npos);
  net::teardown_network("etc");
}

TEST_CASE("setup/teardown cycles leave nothing behind", "[integration][net]") {
  TestNetwork tn;
  const char* env = getenv("ECSA_NET_CYCLES");
  int cycles = env ? std::atoi(env) : 100;
  // One warm-up cycle creates the bridge and the table, which stay.
  {
    NetnsHolder c;
    net::setup_network("cycle", c.pid(), with_ports("0:80"));
    net::teardown_network("cycle");
  }
  auto fds = fs::list_dir("/proc/self/fd").size();
  std::string veth;
  std::string rules = sh("nft list table ip " + tn.table);
  for (int i = 0; i < cycles; ++i) {
    NetnsHolder c;
    NetworkConfig cfg = with_ports("0:80");
    cfg.ports.push_back(net::parse_port_spec("0:53/udp")[0]);
    NetworkState st = net::setup_network("cycle", c.pid(), cfg);
    REQUIRE(st.bindings.size() == 2);
    veth = st.veth_host;
    if (i % 2) c.stop();  // the namespace may already be gone at teardown
    net::teardown_network("cycle");
  }
  CHECK(fs::list_dir("/proc/self/fd").size() == fds);
  // Links of torn-down containers are deleted in the background (or by the kernel with
  // their namespace): nothing may stay.
  TestNetwork::wait_for_released_links();
  CHECK_FALSE(fs::exists("/sys/class/net/" + veth));
  CHECK(fs::read_file("/proc/net/dev").find(veth) == std::string::npos);
  CHECK(sh("nft list table ip " + tn.table) == rules);
  CHECK(rules.find("elements") == std::string::npos);
  CHECK(tn.bridge_ports().empty());
  CHECK(tn.state_files().empty());
}

TEST_CASE("a UDP client already sending reaches a port published after it started",
          "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c;
  int probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = addr("0.0.0.0", 0);
  REQUIRE(bind(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  getsockname(probe, reinterpret_cast<sockaddr*>(&sa), &len);
  uint16_t port = ntohs(sa.sin_port);
  close(probe);

  // The client sends before the port is published: conntrack records a flow without NAT.
  int cl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  set_timeouts(cl, 300);
  sockaddr_in to = addr("127.0.0.1", port);
  sendto(cl, "early", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);

  net::setup_network("udp", c.pid(), with_ports(std::to_string(port) + ":5353/udp"));
  Server echo(c.pid(), [] { udp_echo_server(5353); });
  std::string got;
  for (int i = 0; i < 10 && got.empty(); ++i) {
    sendto(cl, "late", 4, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    char buf[64];
    ssize_t n = recv(cl, buf, sizeof buf, 0);
    if (n > 0) got.assign(buf, static_cast<size_t>(n));
  }
  close(cl);
  CHECK(got == "late");
  net::teardown_network("udp");
}

TEST_CASE("containers cannot reach the host's loopback-only services through the bridge",
          "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c;
  NetworkState st = net::setup_network("sneaky", c.pid(), NetworkConfig{});
  // A loopback-only service on the host.
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = addr("127.0.0.1", 0);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(listen(s, 8) == 0);
  socklen_t len = sizeof sa;
  getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len);
  uint16_t port = ntohs(sa.sin_port);
  // The container routes 127.0.0.1 to the bridge instead of its own loopback; the bridge has
  // route_localnet=1 (needed for published ports), so only the firewall stops this.
  std::string out = sh("nsenter -t " + std::to_string(c.pid()) +
                       " -n sh -c 'ip route add 127.0.0.0/8 via " + st.gateway +
                       " dev eth0 table 200 && ip rule add pref 10 to 127.0.0.1 lookup 200 && "
                       "ip rule del pref 0 && ip rule add pref 100 lookup local && "
                       "sysctl -qw net.ipv4.conf.eth0.route_localnet=1'");
  INFO(out);
  REQUIRE(out.empty());
  auto try_connect = [&] {
    return in_netns(c.pid(), [&] {
      int t = socket(AF_INET, SOCK_STREAM, 0);
      set_timeouts(t, 1000);
      sockaddr_in to = addr("127.0.0.1", port);
      return std::string(connect(t, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0 ? "connected"
                                                                                      : "refused");
    });
  };
  CHECK(try_connect() == "refused");
  // Without ecsa's input rule the same packets get through: the check above means something.
  sh("nft flush chain ip " + tn.table + " input");
  CHECK(try_connect() == "connected");
  close(s);
  net::teardown_network("sneaky");
}

TEST_CASE("a failed setup removes what it created", "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c;
  // The namespace already has a default route, so the last step (our default route) fails
  // after the veth, the addresses and the reservation exist.
  std::string p = std::to_string(c.pid());
  std::string out = sh(
      "nsenter -t " + p +
      " -n sh -c 'ip link add d0 type veth peer name d1 && ip link set d0 up && ip link set d1 up "
      "&& ip addr add 203.0.113.1/24 dev d0 && ip route add default via 203.0.113.2'");
  INFO(out);
  REQUIRE(out.empty());
  REQUIRE_THROWS_WITH(net::setup_network("half", c.pid(), with_ports("0:80")),
                      Catch::Matchers::Contains("network of container half") &&
                          Catch::Matchers::Contains("add default route via"));
  CHECK(tn.state_files().empty());
  CHECK(tn.bridge_ports().empty());
  CHECK(fs::read_file("/proc/" + p + "/net/dev").find("eth0") == std::string::npos);
  CHECK(sh("nft list table ip " + tn.table).find("elements") == std::string::npos);
  // A name clash inside the namespace fails earlier, with the same result.
  NetnsHolder c2;
  out = sh("nsenter -t " + std::to_string(c2.pid()) +
           " -n ip link add eth0 type veth peer name eth1");
  REQUIRE(out.empty());
  REQUIRE_THROWS_WITH(
      net::setup_network("clash", c2.pid(), NetworkConfig{}),
      Catch::Matchers::Contains("create veth") && Catch::Matchers::Contains("File exists"));
  CHECK(tn.state_files().empty());
  CHECK(tn.bridge_ports().empty());
}

TEST_CASE("gc gives an exhausted pool back after an unclean stop", "[integration][net]") {
  TestNetwork tn(29);  // gateway .1, containers .2 to .6
  // Three ports nobody holds now, as the dynamic range.
  unsigned first = 61000;
  while (!(net::host_port_free("tcp", "", first) && net::host_port_free("tcp", "", first + 1) &&
           net::host_port_free("tcp", "", first + 2)))
    ++first;
  std::string range = std::to_string(first) + "-" + std::to_string(first + 2);
  setenv("ECS_DYNAMIC_HOST_PORT_RANGE", range.c_str(), 1);
  std::vector<std::unique_ptr<NetnsHolder>> holders;
  for (int i = 0; i < 5; ++i) {
    holders.push_back(std::make_unique<NetnsHolder>());
    NetworkConfig cfg = i < 3 ? with_ports("0:80") : NetworkConfig{};
    net::setup_network("p" + std::to_string(i), holders.back()->pid(), cfg);
  }
  NetnsHolder extra;
  REQUIRE_THROWS_WITH(
      net::setup_network("p5", extra.pid(), NetworkConfig{}),
      Catch::Matchers::Contains("no free address left in subnet " + tn.subnet_prefix + "0/29"));
  net::teardown_network("p4");  // an address is free again, the 3 dynamic ports are not
  REQUIRE_THROWS_WITH(net::setup_network("p5", extra.pid(), with_ports("0:80")),
                      Catch::Matchers::Contains("no free host port in the dynamic range " + range));
  // "Reboot": every namespace is gone, nobody tore anything down.
  holders.clear();
  net::gc_network([](const std::string& id) { return net::network_owner_alive(id); });
  CHECK(tn.state_files().empty());
  NetworkState st = net::setup_network("p5", extra.pid(), with_ports("0:80"));
  CHECK(st.bindings.at(0).host_port >= first);
  CHECK(st.bindings.at(0).host_port <= first + 2);
  unsetenv("ECS_DYNAMIC_HOST_PORT_RANGE");
  net::teardown_network("p5");
}

TEST_CASE("a flushed ruleset is rebuilt with every container's mappings", "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c1, c2;
  net::setup_network("first", c1.pid(), with_ports("0:80"));
  REQUIRE(sh("nft delete table ip " + tn.table).empty());
  net::setup_network("second", c2.pid(), with_ports("0:80"));
  std::string rules = sh("nft list table ip " + tn.table);
  CHECK(rules.find("comment \"first\"") != std::string::npos);
  CHECK(rules.find("comment \"second\"") != std::string::npos);
  net::teardown_network("first");
  net::teardown_network("second");
  CHECK(sh("nft list table ip " + tn.table).find("elements") == std::string::npos);
}

TEST_CASE("ecsa-run net: setup, ls, gc by hand", "[integration][net]") {
  const char* run = getenv("ECSA_RUN");
  if (!run || !fs::exists(run)) {
    WARN("ECSA_RUN not built; skipping the CLI test");
    return;
  }
  TestNetwork tn;
  std::string ecsa = run;
  CHECK(sh(ecsa + " net --help").find("Usage: ecsa-run net") != std::string::npos);
  auto holder = std::make_unique<NetnsHolder>();
  std::string out =
      sh(ecsa + " net setup -p 0:80 -p 127.0.0.1::53/udp cli " + std::to_string(holder->pid()));
  INFO(out);
  auto j = nlohmann::json::parse(out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  CHECK(j["ip"].get<std::string>().rfind(tn.subnet_prefix, 0) == 0);
  CHECK(j["networkBindings"][0]["hostPort"].get<int>() > 0);
  CHECK(j["networkBindings"][1]["bindIP"] == "127.0.0.1");
  CHECK(j["networkBindings"][1]["protocol"] == "udp");
  CHECK(sh(ecsa + " net ls").find("\"cli\"") != std::string::npos);
  sh(ecsa + " net gc");  // the namespace process lives: kept
  CHECK(tn.state_files().size() == 1);
  holder.reset();
  sh(ecsa + " net gc");
  CHECK(tn.state_files().empty());
  CHECK(sh(ecsa + " net bench 3").find("\"cycles\": 3") != std::string::npos);
  CHECK(sh(ecsa + " net frobnicate").find("unknown subcommand") != std::string::npos);
}

// The cheap gc at every setup: a runtime killed with -9 (and its container with it) never
// tears down; the next setup gives the address, the ports and the map elements back.
TEST_CASE("setup releases what containers whose namespace is gone still hold",
          "[integration][net]") {
  TestNetwork tn;
  unsigned port = 62000;
  while (!net::host_port_free("tcp", "", port)) ++port;
  // One dynamic port only: the second container gets it only if the first gave it back.
  std::string range = std::to_string(port) + "-" + std::to_string(port);
  setenv("ECS_DYNAMIC_HOST_PORT_RANGE", range.c_str(), 1);
  struct Unset {
    ~Unset() { unsetenv("ECS_DYNAMIC_HOST_PORT_RANGE"); }
  } unset;

  // Set up by a separate process, as `ecsa-run net setup` of a runtime that is then killed.
  const char* run = getenv("ECSA_RUN");
  auto victim = std::make_unique<NetnsHolder>();
  if (run && fs::exists(run)) {
    std::string out =
        sh(std::string(run) + " net setup -p 0:80 victim " + std::to_string(victim->pid()));
    INFO(out);
    REQUIRE(out.find("\"hostPort\": " + std::to_string(port)) != std::string::npos);
  } else {
    net::setup_network("victim", victim->pid(), with_ports("0:80"));
  }
  REQUIRE(tn.state_files().size() == 1);
  NetnsHolder waiting;
  REQUIRE_THROWS_WITH(net::setup_network("waiting", waiting.pid(), with_ports("0:80")),
                      Catch::Matchers::Contains("no free host port"));

  SECTION("the namespace is gone: released") {
    std::string veth = net::network_state("victim")->veth_host;
    victim->stop();  // kill -9 of the container; nobody calls teardown
    // The kernel removes the namespace, and the veth with it, shortly after.
    for (int i = 0; i < 500 && fs::exists("/sys/class/net/" + veth); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE_FALSE(fs::exists("/sys/class/net/" + veth));
    NetworkState st = net::setup_network("next", waiting.pid(), with_ports("0:80"));
    CHECK(st.bindings.at(0).host_port == port);
    CHECK(net::list_networked_containers() == std::vector<std::string>{"next"});
    std::string rules = sh("nft list table ip " + tn.table);
    CHECK(rules.find("\"victim\"") == std::string::npos);
    CHECK(rules.find("\"next\"") != std::string::npos);
    net::teardown_network("next");
  }

  SECTION("the namespace lives on in another process: kept") {
    // A process that shares the namespace (as a container joined with container:<id>).
    Server sharer(victim->pid(), [] {
      for (;;) pause();
    });
    // Wait until the sharer is inside the namespace before the holder goes.
    std::string ns = "/proc/" + std::to_string(victim->pid()) + "/ns/net";
    for (int i = 0; i < 200; ++i) {
      char a[64] = {}, b[64] = {};
      std::string sp = "/proc/" + std::to_string(sharer.pid) + "/ns/net";
      if (readlink(ns.c_str(), a, sizeof a - 1) > 0 && readlink(sp.c_str(), b, sizeof b - 1) > 0 &&
          std::string(a) == b)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    victim->stop();
    REQUIRE_THROWS_WITH(net::setup_network("waiting", waiting.pid(), with_ports("0:80")),
                        Catch::Matchers::Contains("no free host port"));
    CHECK(tn.state_files().size() == 1);
    net::teardown_network("victim");
  }
  CHECK(tn.state_files().empty());
}

TEST_CASE("a network state file torn by a power loss is skipped and removed",
          "[integration][net]") {
  TestNetwork tn;
  NetnsHolder c;
  net::setup_network("first", c.pid(), NetworkConfig{});
  fs::write_file_atomic(tn.state + "/net/containers/torn.json", "");
  CHECK(net::list_networked_containers() == std::vector<std::string>{"first"});
  NetnsHolder c2;
  net::setup_network("second", c2.pid(), NetworkConfig{});
  CHECK_FALSE(fs::exists(tn.state + "/net/containers/torn.json"));
  net::teardown_network("first");
  net::teardown_network("second");
  CHECK(tn.state_files().empty());
}
