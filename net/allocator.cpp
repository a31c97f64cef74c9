// Addresses from the bridge subnet and host ports for published ports. Callers hold the
// state lock: the reservations of all containers are in `all`, and the result is reserved
// by saving the new container's state before the lock is released.
#include "net/allocator.hpp"

#include <map>
#include <set>
#include <utility>

#include "common/error.hpp"
#include "net/host_ports.hpp"

namespace ecsa::net {

uint32_t allocate_address(const StateDir& sd, const Ipv4Net& subnet,
                          const std::vector<ContainerNet>& all) {
  std::set<uint32_t> used;
  for (const auto& c : all)
    if (!c.ip.empty() && is_ipv4(c.ip)) used.insert(parse_ipv4(c.ip, "state"));
  uint32_t first = subnet.gateway() + 1, last = subnet.broadcast() - 1;
  uint64_t size = uint64_t(last) - first + 1;
  uint32_t cursor = sd.cursor("last_ip");
  // Round robin, as host-local IPAM: a just-released address is not handed out again at once.
  uint32_t start = cursor >= first && cursor < last ? cursor + 1 : first;
  for (uint64_t n = 0; n < size; ++n) {
    uint32_t cand = static_cast<uint32_t>(first + (uint64_t(start) - first + n) % size);
    if (used.count(cand)) continue;
    sd.set_cursor("last_ip", cand);
    return cand;
  }
  throw Error("no free address left in subnet " + subnet.to_string() + " (" +
              std::to_string(used.size()) +
              " containers hold one; `ecsa-run net gc` frees those "
              "of containers that are gone)");
}

namespace {

class PortAllocator {
 public:
  PortAllocator(const StateDir& sd, const std::vector<ContainerNet>& all) : sd_(sd) {
    for (const auto& c : all)
      for (const auto& p : c.ports)
        for (unsigned i = 0; i < p.count; ++i) owner_[{p.protocol, p.host_port + i}] = c.id;
  }

  PublishedPorts allocate(const PortMapping& m) {
    if (m.protocol != "tcp" && m.protocol != "udp")
      throw Error("port mapping: protocol \"" + m.protocol + "\" is not supported (tcp or udp)");
    if (m.container_port == 0) throw Error("port mapping: container port 0");
    PublishedPorts out;
    out.protocol = m.protocol;
    out.host_ip = m.host_ip == "0.0.0.0" ? "" : m.host_ip;
    if (!out.host_ip.empty()) parse_ipv4(out.host_ip, "port mapping: host IP");
    out.container_port = m.container_port;
    unsigned count = m.container_port_end ? m.container_port_end - m.container_port + 1u : 1u;
    out.count = static_cast<uint16_t>(count);
    if (m.host_port != 0 && (m.host_port_end == 0 || count > 1)) {
      if (m.host_port_end && m.host_port_end - m.host_port + 1u != count)
        throw Error("port mapping " + describe(m) +
                    ": host and container port ranges must have the same size");
      if (m.host_port + count - 1 > 65535)
        throw Error("port mapping " + describe(m) + ": host ports beyond 65535");
      for (unsigned i = 0; i < count; ++i) check_explicit(out, m.host_port + i);
      out.host_port = m.host_port;
    } else if (m.host_port != 0) {
      // Docker's "8000-8010:80": any one free port of the host range.
      out.host_port = find_run(out, {m.host_port, m.host_port_end}, 1, false);
      if (!out.host_port)
        throw Error("port mapping " + describe(m) + ": no free host port in " +
                    std::to_string(m.host_port) + "-" + std::to_string(m.host_port_end) + "/" +
                    m.protocol);
    } else {
      HostPortRange r = dynamic_host_port_range();
      out.host_port = find_run(out, r, count, true);
      if (!out.host_port)
        throw Error("port mapping " + describe(m) + ": no free " +
                    (count > 1 ? "run of " + std::to_string(count) + " host ports" : "host port") +
                    " in the dynamic range " + std::to_string(r.first) + "-" +
                    std::to_string(r.last) + "/" + m.protocol);
    }
    for (unsigned i = 0; i < count; ++i) owner_[{out.protocol, out.host_port + i}] = "(this)";
    return out;
  }

 private:
  static std::string describe(const PortMapping& m) {
    auto range = [](uint16_t a, uint16_t b) {
      return std::to_string(a) + (b ? "-" + std::to_string(b) : "");
    };
    std::string s = m.host_ip.empty() ? "" : m.host_ip + ":";
    return "\"" + s + range(m.host_port, m.host_port_end) + ":" +
           range(m.container_port, m.container_port_end) + "/" + m.protocol + "\"";
  }

  void check_explicit(const PublishedPorts& p, unsigned port) {
    std::string name = "host port " + std::to_string(port) + "/" + p.protocol;
    if (auto it = owner_.find({p.protocol, port}); it != owner_.end())
      throw Error(name + " is already published" +
                  (it->second == "(this)" ? " by another mapping of this container"
                                          : " by container " + it->second));
    if (!host_port_free(p.protocol, p.host_ip, static_cast<uint16_t>(port))) {
      std::string holder = host_port_holder(p.protocol, static_cast<uint16_t>(port));
      throw Error(name + " is already in use on this host" +
                  (holder.empty() ? "" : " by " + holder));
    }
  }

  bool usable(const PublishedPorts& p, unsigned port) {
    return !owner_.count({p.protocol, port}) &&
           host_port_free(p.protocol, p.host_ip, static_cast<uint16_t>(port));
  }

  // First run of `count` usable ports in `r`, searching round-robin after the last port
  // handed out when `round_robin`; 0 when there is none.
  uint16_t find_run(const PublishedPorts& p, HostPortRange r, unsigned count, bool round_robin) {
    unsigned size = r.last - r.first + 1u;
    if (count > size) return 0;
    unsigned start = r.first;
    if (round_robin) {
      uint32_t cur = sd_.cursor("last_port");
      if (cur >= r.first && cur < r.last) start = cur + 1;
    }
    for (unsigned n = 0; n < size; ++n) {
      unsigned cand = r.first + (start - r.first + n) % size;
      if (cand + count - 1 > r.last) continue;
      bool ok = true;
      for (unsigned i = 0; i < count && ok; ++i) ok = usable(p, cand + i);
      if (!ok) continue;
      if (round_robin) sd_.set_cursor("last_port", cand + count - 1);
      return static_cast<uint16_t>(cand);
    }
    return 0;
  }

  const StateDir& sd_;
  std::map<std::pair<std::string, unsigned>, std::string> owner_;
};

}  // namespace

std::vector<PublishedPorts> allocate_ports(const StateDir& sd,
                                           const std::vector<PortMapping>& mappings,
                                           const std::vector<ContainerNet>& all) {
  PortAllocator ports(sd, all);
  std::vector<PublishedPorts> out;
  for (const auto& m : mappings) out.push_back(ports.allocate(m));
  return out;
}

}  // namespace ecsa::net
