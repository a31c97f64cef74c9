// Per-registry connection settings from /etc/ecsa/registries.json (or $ECSA_REGISTRIES_CONF):
//   {"registries": {"myreg.local:5000": {"ca_file": "/etc/ecsa/myreg-ca.pem",
//                                        "insecure": false, "http": false}}}
// ca_file: extra CA bundle for that registry; insecure: skip TLS verification;
// http: talk plain HTTP. Loopback registries (127.0.0.0/8, ::1, localhost) may use plain
// HTTP without configuration (tried after HTTPS fails).
#pragma once
#include <map>
#include <string>

namespace ecsa::oci {

struct RegistryHostConfig {
  std::string ca_file;
  bool insecure = false;
  bool plain_http = false;
};

struct RegistriesConfig {
  std::map<std::string, RegistryHostConfig> hosts;  // keyed by "host[:port]"

  // Missing file: empty configuration. Bad JSON or fields: Error naming the path and field.
  static RegistriesConfig load();
  static RegistriesConfig load_file(const std::string& path);
  // Settings for "host[:port]": exact match first, then the host without port.
  RegistryHostConfig for_host(const std::string& host_port) const;
};

std::string registries_config_path();

// "127.0.0.1:5000", "[::1]:5000", "localhost" ... -> true.
bool is_loopback_host(const std::string& host_port);

}  // namespace ecsa::oci
