// Registry credentials from the places Docker users keep them: the node agent's
// X-Registry-Auth blob, `--creds user:pass`, and Docker's config.json (auths, credHelpers,
// credsStore with docker-credential-<x> helpers). Secrets never go into messages.
#pragma once
#include <optional>
#include <string>

namespace ecsa::oci {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token (Docker "identitytoken")
  std::string registry_token;  // a bearer token to use as is (Docker "registrytoken")
  std::string source;          // where they came from, for messages: "--creds", "config.json"
  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() &&
           registry_token.empty();
  }
};

// Docker's X-Registry-Auth: base64url of {"username","password","serveraddress",
// "identitytoken","registrytoken"}. Plain JSON is accepted too.
Credentials parse_registry_auth(const std::string& text, const std::string& source);

// "user:pass" (the password may contain ':').
Credentials parse_creds_flag(const std::string& s);

// Credentials for `domain` (reference domain, "docker.io" for Docker Hub) from Docker's
// config: $DOCKER_CONFIG/config.json or ~/.docker/config.json. nullopt: none there.
std::optional<Credentials> docker_config_credentials(const std::string& domain);
std::optional<Credentials> docker_config_credentials_from(const std::string& config_path,
                                                          const std::string& domain);

// Runs `docker-credential-<helper> get` with the server on stdin.
std::optional<Credentials> run_credential_helper(const std::string& helper,
                                                 const std::string& server);

}  // namespace ecsa::oci
