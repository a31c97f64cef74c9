// Registry authentication challenges (WWW-Authenticate) and the token flow of the
// distribution spec: Bearer tokens from the realm (anonymous or with Basic credentials),
// or HTTP Basic straight to the registry (ECR, htpasswd registries).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "oci/registry_credentials.hpp"
#include "oci/registry_http.hpp"

namespace ecsa::oci {

struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // realm, service, scope, error ...
};

// Parses one or more challenges from WWW-Authenticate header values
// (`Bearer realm="https://a/token",service="reg",scope="repository:x:pull"`).
std::vector<AuthChallenge> parse_www_authenticate(const std::vector<std::string>& values);

// "Basic <base64(user:pass)>"
std::string basic_auth_header(const Credentials& c);

// Asks the challenge's realm for a token with `scopes`; returns the "Authorization" value
// ("Bearer ..."). Credentials (if any) are sent as Basic to the realm; errors never show
// them.
std::string fetch_bearer_token(const AuthChallenge& ch, const std::vector<std::string>& scopes,
                               const Credentials& creds, const TlsOptions& tls);

}  // namespace ecsa::oci
