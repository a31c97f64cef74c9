// The /etc/hosts, /etc/resolv.conf and /etc/hostname a container sees.
#pragma once
#include <optional>
#include <string>

#include "net/network.hpp"

namespace ecsa::net {

// Hostname: cfg.hostname, else the container name (at most 63 characters).
std::string container_hostname(const NetworkConfig& cfg, const std::string& container_name);

// localhost entries, the container's own address with its hostname and name, extra hosts.
std::string render_hosts(const NetworkConfig& cfg, const NetworkState& st,
                         const std::string& container_name);

// resolv.conf from the host's (`host_resolv`): loopback resolvers (127.0.0.53 of
// systemd-resolved, a local dnsmasq) cannot be reached from a bridge-mode container, so they
// are replaced by those of `upstream_resolv` (/run/systemd/resolve/resolv.conf) when given,
// or dropped, falling back to public resolvers when none is left. cfg.dns, dns_search and
// dns_options replace the host's entries.
std::string render_resolv_conf(const NetworkConfig& cfg, const std::string& host_resolv,
                               const std::optional<std::string>& upstream_resolv);

}  // namespace ecsa::net
