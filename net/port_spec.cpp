// docker -p port specs and the ECS networkBindings form of what got published.
#include <string_view>

#include "common/error.hpp"
#include "net/ipv4.hpp"
#include "net/network.hpp"

namespace ecsa::net {
namespace {

struct PortRange {
  uint16_t first = 0, last = 0;  // last == 0: single port
};

// "80", "0", "8000-8010". allow_zero: 0 means "dynamic" (host side only).
PortRange parse_range(std::string_view text, bool allow_zero, const std::string& spec,
                      const char* side) {
  auto bad = [&](const std::string& why) -> Error {
    return Error("port spec \"" + spec + "\": " + side + " port \"" + std::string(text) +
                 "\": " + why);
  };
  auto number = [&](std::string_view s) -> uint16_t {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string_view::npos)
      throw bad("expected a port number or range");
    unsigned long v = std::stoul(std::string(s));
    if (v > 65535) throw bad("port out of range 1-65535");
    if (v == 0 && !allow_zero) throw bad("port 0 is not allowed here");
    return static_cast<uint16_t>(v);
  };
  PortRange r;
  auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    r.first = number(text);
    return r;
  }
  r.first = number(text.substr(0, dash));
  r.last = number(text.substr(dash + 1));
  if (r.first == 0 || r.last == 0) throw bad("a range cannot contain port 0");
  if (r.last < r.first) throw bad("range end is below its start");
  if (r.last == r.first) r.last = 0;
  return r;
}

PortMapping parse_one(const std::string& spec) {
  std::string rest = spec;
  PortMapping m;
  auto slash = rest.rfind('/');
  if (slash != std::string::npos) {
    m.protocol = rest.substr(slash + 1);
    rest.resize(slash);
    if (m.protocol != "tcp" && m.protocol != "udp")
      throw Error("port spec \"" + spec + "\": protocol \"" + m.protocol +
                  "\" is not supported (tcp or udp)");
  }
  if (!rest.empty() && rest[0] == '[')
    throw Error("port spec \"" + spec + "\": IPv6 host addresses are not supported");
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    auto colon = rest.find(':', start);
    parts.push_back(rest.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() > 3) throw Error("port spec \"" + spec + "\": too many ':' separated fields");
  std::string host_port, container_port = parts.back();
  if (parts.size() == 3) {
    m.host_ip = parts[0];
    host_port = parts[1];
    if (!m.host_ip.empty()) parse_ipv4(m.host_ip, "port spec \"" + spec + "\": host IP");
  } else if (parts.size() == 2) {
    host_port = parts[0];
  }
  PortRange c = parse_range(container_port, false, spec, "container");
  PortRange h;
  if (!host_port.empty()) h = parse_range(host_port, true, spec, "host");
  m.container_port = c.first;
  m.container_port_end = c.last;
  m.host_port = h.first;
  m.host_port_end = h.last;
  if (c.last != 0 && h.first != 0) {
    if (h.last == 0 || h.last - h.first != c.last - c.first)
      throw Error("port spec \"" + spec +
                  "\": host and container port ranges must have the same size");
  }
  return m;
}

}  // namespace

std::vector<PortMapping> parse_port_spec(const std::string& spec) {
  if (spec.empty()) throw Error("port spec: empty");
  std::vector<PortMapping> out;
  size_t start = 0;
  for (;;) {
    auto comma = spec.find(',', start);
    std::string one = spec.substr(start, comma - start);
    if (one.empty()) throw Error("port spec \"" + spec + "\": empty entry");
    out.push_back(parse_one(one));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

nlohmann::json NetworkBinding::to_json() const {
  nlohmann::json j;
  j["bindIP"] = bind_ip;
  if (!container_port_range.empty()) {
    j["containerPortRange"] = container_port_range;
    j["hostPortRange"] = host_port_range;
  } else {
    j["containerPort"] = container_port;
    j["hostPort"] = host_port;
  }
  j["protocol"] = protocol;
  return j;
}

}  // namespace ecsa::net
