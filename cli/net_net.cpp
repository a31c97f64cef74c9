// `ecsa-run net ...`: bridge networking by hand, for debugging, gc and benchmarks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "net/netns_holder.hpp"
#include "net/network.hpp"

namespace ecsa::cli {
namespace {

constexpr const char* kUsage =
    "net setup [-p SPEC]... ID PID | teardown ID | ls | gc | reset | bench [-p SPEC]... [N]";

void print_help() {
  std::printf(
      "Usage: ecsa-run %s\n\n"
      "Bridge networking of containers (what the runtime does on create/delete).\n\n"
      "  setup ID PID     set up bridge networking for container ID in the network namespace\n"
      "                   of process PID; prints the state as JSON\n"
      "  teardown ID      remove it (idempotent)\n"
      "  ls               list containers with network state, as JSON\n"
      "  gc               release the network of containers whose namespace process is gone,\n"
      "                   and links or nftables entries no state accounts for\n"
      "  reset            remove the bridge and ecsa's nftables table if no container uses them\n"
      "  bench [N]        N (default 100) setup+teardown cycles in a scratch namespace; timings\n\n"
      "Flags:\n"
      "  -p, --publish SPEC  [hostIP:][hostPort:]containerPort[/tcp|/udp], ranges a-b (repeat)\n"
      "  -h, --help          this help\n\n"
      "Environment: ECSA_STATE_DIR, ECSA_BRIDGE (ecsa0), ECSA_SUBNET (10.217.0.0/16),\n"
      "ECS_DYNAMIC_HOST_PORT_RANGE.\n",
      kUsage);
}

nlohmann::json state_json(const std::string& id, const net::NetworkState& st) {
  nlohmann::json j{{"id", id},
                   {"ip", st.ip},
                   {"gateway", st.gateway},
                   {"prefixLen", st.prefix_len},
                   {"vethHost", st.veth_host},
                   {"networkBindings", nlohmann::json::array()}};
  for (const auto& b : st.bindings) j["networkBindings"].push_back(b.to_json());
  return j;
}

net::NetworkConfig config_from(const Args& a) {
  net::NetworkConfig cfg;
  for (const auto& spec : a.values("publish"))
    for (auto& m : net::parse_port_spec(spec)) cfg.ports.push_back(m);
  return cfg;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

int bench(const net::NetworkConfig& cfg, int n) {
  using clock = std::chrono::steady_clock;
  std::string id = "bench-" + std::to_string(getpid());
  std::vector<double> up, down;
  for (int i = 0; i < n; ++i) {
    net::NetnsHolder ns;
    auto t0 = clock::now();
    net::setup_network(id, ns.pid(), cfg);
    auto t1 = clock::now();
    net::teardown_network(id);
    auto t2 = clock::now();
    up.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    down.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / v.size();
  };
  std::printf(
      "{\"cycles\": %d, \"setupMs\": {\"mean\": %.3f, \"p50\": %.3f, \"p99\": %.3f}, "
      "\"teardownMs\": {\"mean\": %.3f, \"p50\": %.3f, \"p99\": %.3f}}\n",
      n, mean(up), percentile(up, 0.5), percentile(up, 0.99), mean(down), percentile(down, 0.5),
      percentile(down, 0.99));
  return 0;
}

int net_main(const std::vector<std::string>& argv) {
  Args a(argv, {{{"publish", "p"}, true}, {{"help", "h"}, false}});
  const auto& pos = a.positional();
  if (a.has("help") || pos.empty()) {
    print_help();
    return a.has("help") ? 0 : 2;
  }
  const std::string& verb = pos[0];
  auto need = [&](size_t n) {
    if (pos.size() != n + 1) throw Error("net " + verb + ": usage: ecsa-run " + kUsage);
  };
  if (verb == "setup") {
    need(2);
    long pid = std::strtol(pos[2].c_str(), nullptr, 10);
    if (pid <= 0) throw Error("net setup: PID \"" + pos[2] + "\": expected a process id");
    auto st = net::setup_network(pos[1], static_cast<pid_t>(pid), config_from(a));
    std::printf("%s\n", state_json(pos[1], st).dump(2).c_str());
  } else if (verb == "teardown") {
    need(1);
    net::teardown_network(pos[1]);
  } else if (verb == "ls") {
    need(0);
    auto out = nlohmann::json::array();
    for (const auto& id : net::list_networked_containers())
      if (auto st = net::network_state(id)) out.push_back(state_json(id, *st));
    std::printf("%s\n", out.dump(2).c_str());
  } else if (verb == "gc") {
    need(0);
    net::gc_network([](const std::string& id) { return net::network_owner_alive(id); });
  } else if (verb == "reset") {
    need(0);
    if (!net::remove_network_if_unused())
      throw Error("net reset: containers still have network state (see `ecsa-run net ls`)");
  } else if (verb == "bench") {
    if (pos.size() > 2) need(1);
    int n = pos.size() == 2 ? std::atoi(pos[1].c_str()) : 100;
    if (n <= 0) throw Error("net bench: N \"" + pos[1] + "\": expected a positive count");
    return bench(config_from(a), n);
  } else {
    throw Error("net: unknown subcommand \"" + verb + "\" (see ecsa-run net --help)");
  }
  return 0;
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("net", ecsa::cli::kUsage, "bridge networking by hand: setup, teardown, ls, gc, bench",
             ecsa::cli::net_main);
