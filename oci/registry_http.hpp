// One HTTP exchange with libcurl for the registry client: TLS options per registry, response
// headers collected, the body either kept (small documents) or streamed to a sink (blobs).
// Redirects are never followed here: the caller decides, so that credentials never travel
// to another host.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace ecsa::oci {

struct TlsOptions {
  std::string ca_file;    // extra CA bundle; empty: system CAs
  bool insecure = false;  // skip certificate verification
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST
  TlsOptions tls;
  long timeout_connect_s = 30;
  // Abort when fewer than 1 byte/s flows for this long (a stalled blob is retried).
  long low_speed_time_s = 60;
  // AWS SigV4 signing by libcurl ("aws:amz:<region>:<service>"), with user "AKID:SECRET".
  std::string aws_sigv4;
  std::string userpwd;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::vector<std::string> www_authenticate;   // every WWW-Authenticate header
  std::string body;                            // when no sink was given, or on an error status
  int64_t body_bytes = 0;                      // bytes handed to the sink
  std::string header(const std::string& lower_name) const;
};

// Thrown for transport failures (connection refused, TLS, reset mid-body): retryable.
struct TransportError : Error {
  TransportError(const std::string& msg, int curl_code) : Error(msg), code(curl_code) {}
  int code;
  bool tls_failure() const;  // handshake or certificate problem (no HTTP spoken)
};

// For 2xx responses the body goes to `sink` when given (its exceptions abort the transfer
// and propagate); other statuses keep up to 64 KiB of body for the error message.
// `max_body` bounds bodies kept in memory (manifests, tokens).
// The sink sees the response (status and headers) with every chunk.
struct HttpResponse;
using BodySink = std::function<void(const HttpResponse& resp, const char* data, size_t len)>;
HttpResponse http_request(const HttpRequest& req, const BodySink& sink = nullptr,
                          size_t max_body = 8 << 20);

// URL without query string and fragment: safe to show (presigned URLs carry secrets).
std::string url_for_message(const std::string& url);
// Resolves a Location header against the URL that returned it.
std::string resolve_url(const std::string& base, const std::string& location);
// "scheme://host:port" of a URL, lower-cased, with the default port filled in.
std::string url_origin(const std::string& url);
std::string url_host(const std::string& url);

// The libcurl in use (loaded at run time): "7.88.1"; and whether it is at least major.minor.
std::string libcurl_version();
bool libcurl_at_least(int major, int minor);

std::string base64_encode(const std::string& in);
// Accepts standard and URL-safe alphabets, with or without padding. Throws Error on junk.
std::string base64_decode(const std::string& in, const std::string& what);
// Percent-encodes for a query value.
std::string url_escape(const std::string& s);

}  // namespace ecsa::oci
