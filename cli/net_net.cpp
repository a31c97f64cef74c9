// `ecsa-run net ...`: bridge networking by hand, for debugging, gc and benchmarks.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "net/netns_holder.hpp"
#include "net/network.hpp"

namespace ecsa::cli {
namespace {

constexpr const char* kUsage =
    "net setup [-p SPEC]... ID PID | teardown ID | ls | gc | reset | bench [-p SPEC]... "
    "[--live-teardown] [N]";

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
      "  bench [N]        N (default 100) cycles on a scratch namespace, as a container's life:\n"
      "                   setup (timed), the namespace's process killed, teardown (timed);\n"
      "                   then how long background link deletion took to drain; JSON\n\n"
      "Flags:\n"
      "  -p, --publish SPEC  [hostIP:][hostPort:]containerPort[/tcp|/udp], ranges a-b (repeat)\n"
      "  --live-teardown     bench: tear down while the namespace still lives (its veth must\n"
      "                      then be deleted by ecsa, not by the kernel with the namespace)\n"
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

// Setup returns with the container reachable (links, addresses, routes, DNAT elements all
// in place); teardown returns with its address and ports free and its map elements gone.
// Deleting a link the kernel has not yet removed with its namespace happens in the
// background: the drain time says how long that took after the last teardown.
int bench(const net::NetworkConfig& cfg, int n, bool live_teardown) {
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::string id = "bench-" + std::to_string(getpid());
  std::vector<double> up, down, total;
  for (int i = -1; i < n; ++i) {  // cycle -1 warms up: creates the bridge and the table
    net::NetnsHolder ns;
    auto t0 = clock::now();
    net::setup_network(id, ns.pid(), cfg);
    auto t1 = clock::now();
    if (!live_teardown) ns.stop();
    auto t2 = clock::now();
    net::teardown_network(id);
    auto t3 = clock::now();
    if (i < 0) continue;
    up.push_back(ms(t1 - t0));
    down.push_back(ms(t3 - t2));
    total.push_back(ms(t1 - t0) + ms(t3 - t2));
  }
  auto t_last = clock::now();
  while (net::links_pending_release() > 0 && clock::now() - t_last < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double drain = ms(clock::now() - t_last);
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / v.size();
  };
  auto stats = [&](const std::vector<double>& v) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "{\"mean\": %.3f, \"p50\": %.3f, \"p99\": %.3f}", mean(v),
                  percentile(v, 0.5), percentile(v, 0.99));
    return std::string(buf);
  };
  auto list = [](const std::vector<double>& v) {
    std::string out = "[";
    char buf[32];
    for (size_t i = 0; i < v.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", v[i]);
      out += buf;
    }
    return out + "]";
  };
  std::printf(
      "{\"cycles\": %d, \"teardown\": \"%s\", \"setupMs\": %s, \"teardownMs\": %s, "
      "\"totalMs\": %s, \"backgroundDrainMs\": %.1f, \"samples\": {\"setupMs\": %s, "
      "\"teardownMs\": %s}}\n",
      n, live_teardown ? "namespace alive" : "after the namespace process is killed",
      stats(up).c_str(), stats(down).c_str(), stats(total).c_str(), drain, list(up).c_str(),
      list(down).c_str());
  return 0;
}

int net_main(const std::vector<std::string>& argv) {
  Args a(argv, {{{"publish", "p"}, true}, {{"live-teardown"}, false}, {{"help", "h"}, false}});
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
    return bench(config_from(a), n, a.has("live-teardown"));
  } else {
    throw Error("net: unknown subcommand \"" + verb + "\" (see ecsa-run net --help)");
  }
  return 0;
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("net", ecsa::cli::kUsage, "bridge networking by hand: setup, teardown, ls, gc, bench",
             ecsa::cli::net_main);
