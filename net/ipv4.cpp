#include "net/ipv4.hpp"

#include <arpa/inet.h>

#include "common/error.hpp"

namespace ecsa::net {

bool is_ipv4(const std::string& text) {
  in_addr a{};
  return inet_pton(AF_INET, text.c_str(), &a) == 1;
}

uint32_t parse_ipv4(const std::string& text, const std::string& what) {
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1)
    throw Error(what + ": invalid IPv4 address \"" + text + "\"");
  return ntohl(a.s_addr);
}

std::string format_ipv4(uint32_t addr) {
  in_addr a{htonl(addr)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

std::string Ipv4Net::to_string() const {
  return format_ipv4(base) + "/" + std::to_string(prefix_len);
}

Ipv4Net parse_ipv4_net(const std::string& text, const std::string& what) {
  auto slash = text.find('/');
  if (slash == std::string::npos)
    throw Error(what + ": expected a subnet like 10.217.0.0/16, got \"" + text + "\"");
  Ipv4Net n;
  n.base = parse_ipv4(text.substr(0, slash), what);
  std::string len = text.substr(slash + 1);
  if (len.empty() || len.size() > 2 || len.find_first_not_of("0123456789") != std::string::npos)
    throw Error(what + ": invalid prefix length in \"" + text + "\"");
  n.prefix_len = std::stoi(len);
  if (n.prefix_len < 8 || n.prefix_len > 30)
    throw Error(what + ": prefix length of \"" + text + "\" must be between 8 and 30");
  if (n.base & ~n.mask())
    throw Error(what + ": \"" + text + "\" has host bits set (network address is " +
                format_ipv4(n.base & n.mask()) + ")");
  return n;
}

}  // namespace ecsa::net
