// Amazon ECR registries: recognising their host names and getting registry credentials
// from ecr:GetAuthorizationToken (signed with SigV4 by libcurl), cached until they expire.
#pragma once
#include <optional>
#include <string>

#include "oci/aws_credentials.hpp"
#include "oci/registry_credentials.hpp"

namespace ecsa::oci {

struct EcrRegistry {
  std::string account;  // 12 digits
  std::string region;   // "eu-west-1"
  bool fips = false;
  std::string dns_suffix;  // "amazonaws.com", "amazonaws.com.cn", ...
  // "https://api.ecr.<region>.<suffix>/" (or api.ecr-fips...)
  std::string api_endpoint() const;
};

// <acct>.dkr.ecr[-fips].<region>.amazonaws.com[.cn] (also the dkr-ecr and .on.aws forms).
std::optional<EcrRegistry> parse_ecr_host(const std::string& host);

struct EcrOptions {
  std::string endpoint;  // API endpoint override; else $ECSA_ECR_ENDPOINT; else the real one
  std::string ca_file;   // extra CA for the endpoint (tests); else $ECSA_ECR_CA_FILE
  // Token cache file; else $ECSA_ECR_CACHE, else <state dir>/auth/ecr-tokens.json
  // ($ECSA_STATE_DIR or /var/lib/ecsa). "none" (or $ECSA_ECR_DISABLE_CACHE=1): memory only.
  std::string cache_file;
};

// Username "AWS" and the token's password. Tokens are cached (in memory and in a 0600 file,
// as amazon-ecr-credential-helper does, so separate `pull` processes share them) per
// registry, region, endpoint and AWS access key until half an hour before they expire.
Credentials ecr_credentials(const EcrRegistry& reg, const EcrOptions& opts);

namespace detail {
void ecr_forget_memory_cache();  // for tests: as if a new process
}

// Parses a GetAuthorizationToken reply; fills expires_at (epoch seconds).
Credentials parse_ecr_token_reply(const std::string& body, double* expires_at);

}  // namespace ecsa::oci
