// Published ports in nftables. ecsa owns one table (default "ip ecsa"): DNAT maps keyed by
// protocol and host port (and host address), commented with the container id, fed from the
// prerouting and output hooks for local destinations; masquerade for outbound, hairpin and
// localhost traffic; a guard against 127/8 packets from the bridge. Adding or removing a
// container is one element batch, atomic, and cannot touch anybody else's rules.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "net/ipv4.hpp"
#include "net/nft.hpp"
#include "net/state.hpp"

namespace ecsa::net {

struct NatTable {
  std::string table, bridge;
  Ipv4Net subnet;
};

// Creates the table when missing (first use, after a reboot, or after someone flushed the
// ruleset), re-adding the port mappings of `existing` containers of that table.
void ensure_nat_table(Nft& nft, const NatTable& t, const std::vector<ContainerNet>& existing);

// Adds / removes a container's port mappings. Removing mappings (or a table) already gone
// is fine.
void publish_ports(Nft& nft, const ContainerNet& c);
void unpublish_ports(Nft& nft, const ContainerNet& c);

// Removes mappings whose container id is not in `ids`: left by a crash or by hand.
void remove_orphan_mappings(Nft& nft, const std::string& table, const std::set<std::string>& ids);

}  // namespace ecsa::net
