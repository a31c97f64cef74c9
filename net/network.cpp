// Setup, teardown and garbage collection of bridge networking for containers.
#include "net/network.hpp"

#include <sys/random.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "net/allocator.hpp"
#include "net/conntrack.hpp"
#include "net/ipv4.hpp"
#include "net/link_reaper.hpp"
#include "net/nft.hpp"
#include "net/port_rules.hpp"
#include "net/rtnl.hpp"
#include "net/state.hpp"

namespace ecsa::net {
namespace {

constexpr const char* kDefaultBridge = "ecsa0";
// Clear of Docker's 172.17.0.0/16 (and its 172.16/12 pools) and podman's 10.88.0.0/16.
constexpr const char* kDefaultSubnet = "10.217.0.0/16";
constexpr const char* kVethPrefix = "ve";
// Link group of host veth ends whose container is torn down, waiting for deletion (by a
// background reaper, else by gc). Deleting a link costs RCU grace periods; relabelling
// does not.
constexpr uint32_t kReleasedGroup = 0xec5a0de1;

struct Params {
  std::string root, bridge, table;
  Ipv4Net subnet;
};

Params params_from_env() {
  Params p;
  p.root = StateDir::default_root();
  const char* b = getenv("ECSA_BRIDGE");
  p.bridge = b && *b ? b : kDefaultBridge;
  if (p.bridge.size() > 15 ||
      p.bridge.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                 "_-.") != std::string::npos)
    throw Error("ECSA_BRIDGE \"" + p.bridge +
                "\": a link name of at most 15 letters, digits, '_', '-' or '.'");
  const char* s = getenv("ECSA_SUBNET");
  p.subnet = parse_ipv4_net(s && *s ? s : kDefaultSubnet, "ECSA_SUBNET");
  // The default bridge gets table "ecsa"; others (tests) their own, so they never meet.
  p.table = p.bridge == kDefaultBridge ? "ecsa" : "ecsa_" + p.bridge;
  for (char& c : p.table)
    if (c == '-' || c == '.') c = '_';
  return p;
}

// Host-side veth name, recorded in the state: unique per setup, so a link of an earlier
// setup of the same id still waiting for its deletion never clashes; within IFNAMSIZ.
std::string veth_name(const std::string& bridge, const std::string& id) {
  uint64_t salt = 0;
  if (getrandom(&salt, sizeof salt, 0) != static_cast<ssize_t>(sizeof salt))
    salt = static_cast<uint64_t>(getpid()) << 32;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : bridge + "/" + id + "/" + std::to_string(salt)) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%012llx", kVethPrefix,
                static_cast<unsigned long long>(h & 0xffffffffffffULL));
  return buf;
}

bool is_our_veth_name(const std::string& name) {
  return name.size() == 14 && name.rfind(kVethPrefix, 0) == 0 &&
         name.find_first_not_of("0123456789abcdef", 2) == std::string::npos;
}

void sysctl_on(const std::string& path) {
  auto cur = fs::read_file_if_exists(path);
  if (!cur) throw Error("sysctl " + path + ": does not exist");
  if (cur->rfind("1", 0) == 0) return;
  fs::write_existing(path, "1");
}

// ---- links ----

int ensure_bridge(Rtnl& rt, const Params& p) {
  int index = rt.link_index(p.bridge);
  if (!index) {
    rt.create_bridge(p.bridge);
    index = rt.link_index(p.bridge);
    if (!index) throw Error("bridge " + p.bridge + ": vanished right after creation");
  }
  rt.add_ipv4(index, p.bridge, p.subnet.gateway(), p.subnet.prefix_len);
  rt.set_up(index, p.bridge);
  sysctl_on("/proc/sys/net/ipv4/ip_forward");
  // DNAT of 127.0.0.1-sourced traffic (host -> localhost:hostPort) out of the bridge.
  sysctl_on("/proc/sys/net/ipv4/conf/" + p.bridge + "/route_localnet");
  return index;
}

void configure_inside(pid_t pid, uint32_t ip, int prefix_len, uint32_t gateway) {
  Rtnl in = Rtnl::in_netns_of(pid);
  int lo = in.link_index("lo");
  if (lo) in.set_up(lo, "lo");
  int eth = in.link_index("eth0");
  if (!eth)
    throw Error("eth0 did not appear in the network namespace of pid " + std::to_string(pid));
  in.add_ipv4(eth, "eth0", ip, prefix_len);
  in.set_up(eth, "eth0");
  in.add_default_route(gateway, eth);
}

enum class LinkRemoval { now, background };

// Removes everything recorded for `c`, then its state. Keeps the state (for a later gc) if
// some part could not be removed. With LinkRemoval::background the host veth end (if the
// kernel has not removed it with the container's namespace already) is only labelled
// released; returns true when such a link waits for deletion.
bool teardown_locked(const StateDir& sd, const ContainerNet& c, LinkRemoval how) {
  std::string errors;
  bool pending = false;
  try {
    unpublish_ports(Nft::shared(), c);
  } catch (const std::exception& e) {
    errors += std::string(errors.empty() ? "" : "; ") + e.what();
  }
  try {
    Rtnl rt;
    if (how == LinkRemoval::now)
      rt.delete_link(c.veth_host);
    else
      pending = rt.set_group(c.veth_host, kReleasedGroup);
  } catch (const std::exception& e) {
    errors += std::string(errors.empty() ? "" : "; ") + e.what();
  }
  if (!errors.empty()) throw Error("tear down network of container " + c.id + ": " + errors);
  sd.remove(c.id);
  return pending;
}

// Whether the namespace `c` was set up in is gone: its process is gone (or is another one
// with the same pid) and so is the host veth end, which the kernel deletes with the
// namespace. A namespace still held by someone else (a container sharing it) keeps it.
bool owner_gone(Rtnl& rt, const ContainerNet& c) {
  if (c.netns_pid <= 0 || process_start_time(c.netns_pid) == c.netns_start_time) return false;
  return rt.link_index(c.veth_host) == 0;
}

// The cheap part of gc at every setup: releases what containers whose namespace is gone
// still hold (address, ports, map elements). Returns the containers that remain.
std::vector<ContainerNet> release_dead_owners(const StateDir& sd, Rtnl& rt,
                                              std::vector<ContainerNet> all) {
  std::vector<ContainerNet> kept;
  for (auto& c : all) {
    bool gone = false;
    try {
      gone = owner_gone(rt, c);
      if (gone) {
        log::info("net: releasing network of container " + c.id + " (" + c.ip +
                  "): its network namespace is gone");
        teardown_locked(sd, c, LinkRemoval::background);
      }
    } catch (const std::exception& e) {
      log::warn(std::string("net: ") + e.what());
      gone = false;
    }
    if (!gone) kept.push_back(std::move(c));
  }
  return kept;
}

// Best effort: a failure here only delays the mapping for a client that was already sending.
void forget_stale_udp_flows(const ContainerNet& c) {
  std::set<uint16_t> udp;
  for (const auto& p : c.ports)
    if (p.protocol == "udp")
      for (unsigned i = 0; i < p.count; ++i) udp.insert(static_cast<uint16_t>(p.host_port + i));
  try {
    if (int n = forget_udp_flows(udp))
      log::debug("net: forgot " + std::to_string(n) + " stale UDP flows to published ports");
  } catch (const std::exception& e) {
    log::warn(std::string("net: ") + e.what());
  }
}

}  // namespace

NetworkState setup_network(const std::string& container_id, pid_t netns_pid,
                           const NetworkConfig& cfg) {
  if (cfg.mode != "bridge") {
    if (cfg.mode == "host" || cfg.mode == "none" ||
        (cfg.mode.rfind("container:", 0) == 0 && cfg.mode.size() > 10))
      return {};
    throw Error("network mode \"" + cfg.mode + "\": expected bridge, host, none or container:<id>");
  }
  validate_container_id(container_id);
  if (netns_pid <= 0) throw Error("network of container " + container_id + ": invalid netns pid");
  Params p = params_from_env();
  StateDir sd(p.root);
  UniqueFd lock = sd.lock();
  Rtnl host;
  std::vector<std::string> torn;
  auto all = release_dead_owners(sd, host, sd.load_all(&torn));
  for (const auto& id : torn) sd.remove(id);
  for (const auto& o : all)
    if (o.id == container_id)
      throw Error("network of container " + container_id + ": already set up");

  ContainerNet c;
  c.id = container_id;
  c.bridge = p.bridge;
  c.table = p.table;
  c.prefix_len = p.subnet.prefix_len;
  c.gateway = format_ipv4(p.subnet.gateway());
  c.veth_host = veth_name(p.bridge, container_id);
  c.netns_pid = netns_pid;
  c.netns_start_time = process_start_time(netns_pid);
  if (!c.netns_start_time)
    throw Error("network of container " + container_id + ": netns process " +
                std::to_string(netns_pid) + " does not exist");
  // The peer named eth0 would land in the host's namespace (or clash with the host's eth0).
  struct stat own {
  }, target{};
  std::string target_ns = "/proc/" + std::to_string(netns_pid) + "/ns/net";
  if (::stat("/proc/self/ns/net", &own) != 0) throw_errno("stat /proc/self/ns/net");
  if (::stat(target_ns.c_str(), &target) != 0) throw_errno("stat " + target_ns);
  if (own.st_ino == target.st_ino && own.st_dev == target.st_dev)
    throw Error("network of container " + container_id + ": process " + std::to_string(netns_pid) +
                " is in the host's network namespace");
  try {
    // Everything that can be refused is decided before anything is created.
    c.ip = format_ipv4(allocate_address(sd, p.subnet, all));
    c.ports = allocate_ports(sd, cfg.ports, all);
    // The state file is the reservation, and what gc needs to undo a half-done setup.
    sd.save(c);
  } catch (const Error&) {
    rethrow_with_context("network of container " + container_id);
  }

  try {
    int bridge = ensure_bridge(host, p);
    Nft& nft = Nft::shared();
    ensure_nat_table(nft, NatTable{p.table, p.bridge, p.subnet}, all);
    host.create_veth(c.veth_host, bridge, "eth0", netns_pid);
    // A container reaching its own published port comes back out the port it came in on.
    try {
      fs::write_existing("/sys/class/net/" + c.veth_host + "/brport/hairpin_mode", "1");
    } catch (const Error& e) {
      log::warn(std::string("net: ") + e.what() +
                " (a container reaching its own published "
                "port through a host address may fail)");
    }
    configure_inside(netns_pid, parse_ipv4(c.ip, "ip"), c.prefix_len, p.subnet.gateway());
    publish_ports(nft, c);
  } catch (const std::exception&) {
    try {
      teardown_locked(sd, c, LinkRemoval::now);
    } catch (const std::exception& e) {
      log::warn(std::string("cleanup after failed network setup: ") + e.what());
    }
    rethrow_with_context("network of container " + container_id);
  }
  forget_stale_udp_flows(c);
  return c.to_network_state();
}

void teardown_network(const std::string& container_id) {
  validate_container_id(container_id);
  StateDir sd(StateDir::default_root());
  bool pending = false;
  {
    UniqueFd lock = sd.lock();
    if (auto c = sd.load(container_id)) pending = teardown_locked(sd, *c, LinkRemoval::background);
  }
  if (pending) reap_links_in_background(kReleasedGroup);
}

void gc_network(const std::function<bool(const std::string& id)>& container_exists) {
  Params p = params_from_env();
  StateDir sd(p.root);
  UniqueFd lock = sd.lock();
  std::string errors;
  std::vector<std::string> torn;
  for (const auto& c : sd.load_all(&torn)) {
    if (container_exists(c.id)) continue;
    log::info("net gc: releasing network of container " + c.id + " (" + c.ip + ")");
    try {
      teardown_locked(sd, c, LinkRemoval::background);
    } catch (const std::exception& e) {
      errors += std::string(errors.empty() ? "" : "; ") + e.what();
    }
  }
  for (const auto& id : torn) sd.remove(id);
  std::set<std::string> ids, veths;
  for (const auto& c : sd.load_all()) {
    ids.insert(c.id);
    veths.insert(c.veth_host);
  }
  Rtnl rt;
  if (int bridge = rt.link_index(p.bridge)) {
    for (const auto& l : rt.links()) {
      if (l.master != bridge || l.kind != "veth" || !is_our_veth_name(l.name) ||
          veths.count(l.name) || l.group == kReleasedGroup)
        continue;
      log::info("net gc: removing orphaned link " + l.name);
      rt.set_group(l.name, kReleasedGroup);
    }
  }
  // Released links (of any ecsa bridge), those a background reaper has not deleted yet
  // included, all in one request.
  rt.delete_group(kReleasedGroup);
  remove_orphan_mappings(Nft::shared(), p.table, ids);
  if (!errors.empty()) throw Error("net gc: " + errors);
}

std::vector<std::string> list_networked_containers() {
  StateDir sd(StateDir::default_root());
  std::vector<std::string> ids;
  for (const auto& c : sd.load_all()) ids.push_back(c.id);
  return ids;
}

std::optional<NetworkState> network_state(const std::string& container_id) {
  validate_container_id(container_id);
  StateDir sd(StateDir::default_root());
  if (auto c = sd.load(container_id)) return c->to_network_state();
  return std::nullopt;
}

bool network_owner_alive(const std::string& container_id) {
  validate_container_id(container_id);
  StateDir sd(StateDir::default_root());
  auto c = sd.load(container_id);
  return c && c->netns_pid > 0 && process_start_time(c->netns_pid) == c->netns_start_time;
}

int links_pending_release() {
  Rtnl rt;
  int n = 0;
  for (const auto& l : rt.links())
    if (l.group == kReleasedGroup) ++n;
  return n;
}

bool remove_network_if_unused() {
  Params p = params_from_env();
  StateDir sd(p.root);
  UniqueFd lock = sd.lock();
  if (!sd.load_all().empty()) return false;
  Nft& nft = Nft::shared();
  if (!nft.list_json("list table ip " + p.table).empty())
    nft.apply("delete table ip " + p.table, "nftables: delete table ip " + p.table);
  Rtnl rt;
  rt.delete_group(kReleasedGroup);  // before the bridge, whose ports they still are
  rt.delete_link(p.bridge);
  for (const char* cursor : {"last_ip", "last_port"}) {
    std::string path = fs::join(p.root, cursor);
    ::unlink(path.c_str());
  }
  return true;
}

}  // namespace ecsa::net
