// Bridge networking for containers: what the runtime calls around container create/delete.
//
// A container in "bridge" mode gets a veth pair: the host end is a port of the bridge
// (default ecsa0, created on first use), the inner end is eth0 inside the container's network
// namespace with an address from the bridge subnet and a default route via the bridge.
// Published ports are DNAT entries in nftables maps of ecsa's own table; outbound traffic is
// masqueraded. Per-container state lives in <state>/net/containers/<id>.json, which is also
// the address and port reservation, so `gc_network` can reclaim everything after a crash.
//
// Environment: ECSA_STATE_DIR (default /var/lib/ecsa), ECSA_BRIDGE (default ecsa0),
// ECSA_SUBNET (default 10.217.0.0/16), ECS_DYNAMIC_HOST_PORT_RANGE ("first-last").
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ecsa::net {

// One published port or port range (docker -p / ECS portMappings).
// *_end == 0: a single port. host_port == 0: a dynamic host port (or range).
struct PortMapping {
  std::string host_ip;  // "" or "0.0.0.0": every host address
  uint16_t host_port = 0, host_port_end = 0;
  uint16_t container_port = 0, container_port_end = 0;
  std::string protocol = "tcp";  // tcp | udp
};

// docker -p syntax: [hostIP:][hostPort:]containerPort[/tcp|/udp], where ports may be ranges
// "8000-8010". hostPort 0 or absent: dynamic. A host range with a single container port
// means "any one port of that range". Comma-separated specs give several mappings.
std::vector<PortMapping> parse_port_spec(const std::string& spec);

struct NetworkConfig {
  std::string mode = "bridge";  // bridge | host | none | container:<id>
  std::vector<PortMapping> ports;
  std::string hostname;
  std::vector<std::string> dns, dns_search, dns_options;
  std::vector<std::string> extra_hosts;  // "name:ip" (or "name=ip")
};

// ECS networkBindings entry.
struct NetworkBinding {
  std::string bind_ip;
  uint16_t container_port = 0, host_port = 0;
  std::string protocol;
  std::string container_port_range, host_port_range;  // "8000-8010" for ranges, else ""
  // {bindIP, containerPort, hostPort, protocol} or, for a range,
  // {bindIP, containerPortRange, hostPortRange, protocol}.
  nlohmann::json to_json() const;
};

struct NetworkState {
  std::string ip, gateway, veth_host;  // empty for host/none/container modes
  int prefix_len = 0;
  std::vector<NetworkBinding> bindings;
};

// Creates everything for a bridge-mode container whose network namespace is that of
// `netns_pid`; when it returns the container is reachable (veth, addresses, route and DNAT
// map elements in place). Other modes: returns an empty state and does nothing. On failure
// removes whatever it created and throws Error.
// First, the cheap part of gc: containers whose namespace is gone (their netns process is
// gone and so is their veth, which the kernel deletes with the namespace) give back their
// address, ports and map elements; a namespace kept alive by another process (container:<id>
// sharing) keeps them. Costs one /proc read per container with state.
NetworkState setup_network(const std::string& container_id, pid_t netns_pid,
                           const NetworkConfig& cfg);

// Writes `hosts`, `resolv.conf` and `hostname` into `dir` (created if missing) for the
// runtime to bind-mount into the container.
void write_etc_files(const std::string& dir, const NetworkConfig& cfg, const NetworkState& st,
                     const std::string& container_name);

// Removes the port mappings, the reservation and the veth of a container. Unknown ids and
// repeated calls are fine. When the container is stopped the kernel has deleted the veth
// with its namespace (or is about to); a veth still there is labelled released (link group)
// and deleted by a detached process right after (gc_network deletes leftovers): deleting a
// link costs ~20 ms of kernel RCU waits, which stay off the caller's path.
void teardown_network(const std::string& container_id);

// Tears down every container whose id `container_exists` denies, and removes links and
// nftables entries of ours that no state file accounts for, and released links not yet
// deleted; links synchronously, in one request.
void gc_network(const std::function<bool(const std::string& id)>& container_exists);

// Ids with network state (bridge mode containers set up and not torn down).
std::vector<std::string> list_networked_containers();
// What setup_network returned for a container still set up (its bridge address and
// published ports, e.g. for /etc/hosts links of other containers); std::nullopt otherwise.
std::optional<NetworkState> network_state(const std::string& container_id);
// Whether the process whose network namespace a container was set up with still exists
// (same pid and start time): a default "container exists" test for gc without a runtime.
bool network_owner_alive(const std::string& container_id);

// Host veth ends of torn-down containers still waiting for their deletion in the
// background (teardown_network returns before the kernel's slow part of deleting a link).
// gc_network deletes them at once.
int links_pending_release();

// Removes the bridge and ecsa's nftables table when no container uses them (tests, `ecsa-run
// net reset`). Returns false, doing nothing, while containers still hold state.
bool remove_network_if_unused();

}  // namespace ecsa::net
