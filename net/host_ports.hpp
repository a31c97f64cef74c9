// Host-side facts about ports: the dynamic range, whether a port is free, who holds it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace ecsa::net {

struct HostPortRange {
  uint16_t first = 0, last = 0;
};

// "first-last" with 1 <= first <= last <= 65535; std::nullopt when malformed.
std::optional<HostPortRange> parse_host_port_range(const std::string& text);

// As the ECS agent: ECS_DYNAMIC_HOST_PORT_RANGE if set and valid, else
// /proc/sys/net/ipv4/ip_local_port_range, else 49153-65535.
HostPortRange dynamic_host_port_range();

// Bind probe: can a `protocol` ("tcp"/"udp") socket bind `host_ip` ("" = any):port now?
// Throws when host_ip is not an address of this host.
bool host_port_free(const std::string& protocol, const std::string& host_ip, uint16_t port);

// "pid 123 (nginx)" for the process holding a socket on that local port, from /proc/net/*
// and /proc/*/fd; "" when unknown.
std::string host_port_holder(const std::string& protocol, uint16_t port);

}  // namespace ecsa::net
