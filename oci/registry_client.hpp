// A client for one repository of an OCI distribution / Docker Registry v2 server: /v2/ ping,
// Bearer and Basic authentication, manifests by tag or digest, blobs streamed with digest and
// size checks, retries with backoff, resume by Range, and redirects followed without
// credentials when they leave the registry (ECR sends blobs to presigned S3 URLs).
// Safe to use from several threads at once (parallel layer downloads).
#pragma once
#include <functional>
#include <mutex>
#include <string>

#include "oci/registry_auth.hpp"
#include "oci/registry_config.hpp"
#include "oci/registry_credentials.hpp"
#include "oci/registry_http.hpp"
#include "oci/registry_manifest.hpp"

namespace ecsa::oci {

struct RegistryClientOptions {
  RegistriesConfig config;
  // Asked at most once, the first time the registry wants credentials.
  std::function<Credentials()> credentials;
  int max_attempts = 5;       // per request, for connection errors, 429 and 5xx
  int retry_base_ms = 500;    // backoff: base, 2*base, 4*base ... (capped at 10 s)
  long low_speed_time_s = 60;  // a transfer stalled this long is retried
};

using ByteSink = std::function<void(const char* data, size_t len)>;

class RegistryClient {
 public:
  // host: "127.0.0.1:5000", "registry-1.docker.io"; repository: "library/busybox".
  RegistryClient(std::string host, std::string repository, RegistryClientOptions opts);

  // `ref` is a tag or a digest; a digest is checked against the bytes received.
  ManifestBlob get_manifest(const std::string& ref);
  // A small blob (image config) in memory, verified.
  std::string get_blob(const Descriptor& d, size_t max_size = 16 << 20);
  // Streams a blob to `sink` as one continuous stream even across resumed transfers;
  // throws (after the sink saw the bytes) if digest or size differ, so the caller must not
  // commit what it wrote until this returns.
  void fetch_blob(const Descriptor& d, const ByteSink& sink);

  // "https://host" or "http://host" once the registry answered.
  std::string base_url();
  const std::string& host() const { return host_; }
  const std::string& repository() const { return repo_; }

 private:
  void ensure_pinged();
  TlsOptions tls_for(const std::string& url) const;
  // One logical request: auth header, one re-authentication on 401, redirects.
  HttpResponse exchange(const std::string& url, const std::string& method,
                        std::vector<std::string> headers, const BodySink& sink,
                        size_t max_body);
  // Retries transport errors, 429 and 5xx.
  HttpResponse exchange_retrying(const std::string& url, const std::vector<std::string>& headers,
                                 size_t max_body);
  void authenticate(const HttpResponse& challenge_resp);
  Credentials credentials();
  void backoff(int attempt, const HttpResponse* resp);
  std::string error_for(const std::string& what, const HttpResponse& resp) const;

  std::string host_, repo_;
  RegistryClientOptions opts_;
  RegistryHostConfig host_cfg_;
  std::mutex mu_;  // guards the fields below
  bool pinged_ = false;
  std::string base_url_;
  std::string origin_;
  std::string auth_header_;  // "Bearer ..." or "Basic ..." or empty
  bool creds_loaded_ = false;
  Credentials creds_;
};

// Registry error documents {"errors":[{"code","message"}]} as "CODE: message; ...".
std::string registry_error_text(const std::string& body);

}  // namespace ecsa::oci
