#include "oci/registry_config.hpp"

#include <arpa/inet.h>

#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"

namespace ecsa::oci {

namespace {
// "host:port" -> "host"; "[::1]:5000" -> "::1".
std::string strip_port(const std::string& hp) {
  if (!hp.empty() && hp[0] == '[') {
    auto close = hp.find(']');
    return close == std::string::npos ? hp : hp.substr(1, close - 1);
  }
  auto colon = hp.find(':');
  if (colon != std::string::npos && hp.find(':', colon + 1) == std::string::npos)
    return hp.substr(0, colon);
  return hp;
}
}  // namespace

std::string registries_config_path() {
  const char* env = std::getenv("ECSA_REGISTRIES_CONF");
  return env && *env ? env : "/etc/ecsa/registries.json";
}

RegistriesConfig RegistriesConfig::load() { return load_file(registries_config_path()); }

RegistriesConfig RegistriesConfig::load_file(const std::string& path) {
  RegistriesConfig cfg;
  auto text = fs::read_file_if_exists(path);
  if (!text) return cfg;
  json::Json doc = json::parse(*text, path);
  json::Node root(doc, path);
  if (auto regs = root.opt("registries")) {
    for (const auto& [host, node] : regs->members()) {
      RegistryHostConfig h;
      h.ca_file = node.str_or("ca_file", "");
      h.insecure = node.bool_or("insecure", false);
      h.plain_http = node.bool_or("http", false);
      if (!h.ca_file.empty() && !fs::exists(h.ca_file))
        node.at("ca_file").fail("CA file " + h.ca_file + " does not exist");
      cfg.hosts[host] = h;
    }
  }
  return cfg;
}

RegistryHostConfig RegistriesConfig::for_host(const std::string& host_port) const {
  if (auto it = hosts.find(host_port); it != hosts.end()) return it->second;
  if (auto it = hosts.find(strip_port(host_port)); it != hosts.end()) return it->second;
  return {};
}

bool is_loopback_host(const std::string& host_port) {
  std::string host = strip_port(host_port);
  if (host == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

}  // namespace ecsa::oci
