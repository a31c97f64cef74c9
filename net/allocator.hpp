// Address and host-port allocation for bridge-mode containers (callers hold the state lock).
#pragma once
#include <cstdint>
#include <vector>

#include "net/ipv4.hpp"
#include "net/network.hpp"
#include "net/state.hpp"

namespace ecsa::net {

// The next free address of `subnet` after the last one handed out (round robin, as CNI's
// host-local IPAM, so a just-released address is not reused at once). The gateway (first
// host) is never handed out.
uint32_t allocate_address(const StateDir& sd, const Ipv4Net& subnet,
                          const std::vector<ContainerNet>& all);

// Host ports for `mappings`: explicit ones must be free (not published by a container of
// `all`, not bound on the host: the error names the holder); dynamic ones come round robin
// from the ECS dynamic range, a container port range getting a contiguous host range.
std::vector<PublishedPorts> allocate_ports(const StateDir& sd,
                                           const std::vector<PortMapping>& mappings,
                                           const std::vector<ContainerNet>& all);

}  // namespace ecsa::net
