// IPv4 addresses and subnets as host-order integers, with parsing that names the field.
#pragma once
#include <cstdint>
#include <string>

namespace ecsa::net {

// Parses dotted-quad "10.0.0.1"; throws Error("<what>: invalid IPv4 address \"...\"").
uint32_t parse_ipv4(const std::string& text, const std::string& what);
bool is_ipv4(const std::string& text);
std::string format_ipv4(uint32_t addr);

struct Ipv4Net {
  uint32_t base = 0;  // network address (host bits cleared)
  int prefix_len = 0;

  uint32_t mask() const { return prefix_len == 0 ? 0 : ~uint32_t(0) << (32 - prefix_len); }
  uint32_t broadcast() const { return base | ~mask(); }
  bool contains(uint32_t a) const { return (a & mask()) == base; }
  // First usable host: the gateway (bridge address).
  uint32_t gateway() const { return base + 1; }
  std::string to_string() const;
};

// "10.217.0.0/16"; the prefix must leave room for a gateway and at least one container
// (prefix 8..30). Host bits set in the address are an error.
Ipv4Net parse_ipv4_net(const std::string& text, const std::string& what);

}  // namespace ecsa::net
