// Forgetting stale connection-tracking entries, over ctnetlink with libmnl.
#pragma once
#include <cstdint>
#include <set>

namespace ecsa::net {

// Deletes IPv4 UDP conntrack entries whose original destination port is one of `ports`.
// A UDP client that kept sending to a host port before it was published holds an entry
// without NAT, and would go on missing the container as long as it keeps sending (as CNI's
// portmap does on ADD). Returns how many were deleted; 0 without ctnetlink support.
int forget_udp_flows(const std::set<uint16_t>& ports);

}  // namespace ecsa::net
