#include "oci/registry_client.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/error.hpp"
#include "common/json_node.hpp"
#include "common/log.hpp"
#include "oci/digest.hpp"

namespace ecsa::oci {

namespace {

bool is_redirect(long s) { return s == 301 || s == 302 || s == 303 || s == 307 || s == 308; }
bool is_retryable(long s) { return s == 429 || (s >= 500 && s <= 599 && s != 501 && s != 505); }

std::string status_text(long s) {
  switch (s) {
    case 400: return "400 Bad Request";
    case 401: return "401 Unauthorized";
    case 403: return "403 Forbidden";
    case 404: return "404 Not Found";
    case 405: return "405 Method Not Allowed";
    case 416: return "416 Range Not Satisfiable";
    case 429: return "429 Too Many Requests";
    case 500: return "500 Internal Server Error";
    case 502: return "502 Bad Gateway";
    case 503: return "503 Service Unavailable";
    case 504: return "504 Gateway Timeout";
    default: return "HTTP status " + std::to_string(s);
  }
}

std::string content_type(const HttpResponse& r) {
  std::string ct = r.header("content-type");
  if (auto semi = ct.find(';'); semi != std::string::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  return ct;
}

}  // namespace

std::string registry_error_text(const std::string& body) {
  try {
    auto doc = json::Json::parse(body);
    std::string out;
    for (const auto& e : doc.at("errors")) {
      if (!out.empty()) out += "; ";
      out += e.value("code", std::string("UNKNOWN"));
      std::string msg = e.value("message", std::string());
      if (!msg.empty()) out += ": " + msg;
    }
    return out;
  } catch (const std::exception&) {
    std::string s = body.substr(0, 200);
    for (auto& c : s)
      if (c == '\n' || c == '\r') c = ' ';
    return s;
  }
}

RegistryClient::RegistryClient(std::string host, std::string repository,
                               RegistryClientOptions opts)
    : host_(std::move(host)), repo_(std::move(repository)), opts_(std::move(opts)) {
  host_cfg_ = opts_.config.for_host(host_);
  if (opts_.max_attempts < 1) opts_.max_attempts = 1;
}

std::string RegistryClient::base_url() {
  ensure_pinged();
  std::lock_guard<std::mutex> lk(mu_);
  return base_url_;
}

TlsOptions RegistryClient::tls_for(const std::string& url) const {
  // Redirect targets on other hosts get their own settings (system CAs by default).
  std::string origin = url_origin(url);
  if (origin == origin_) return TlsOptions{host_cfg_.ca_file, host_cfg_.insecure};
  RegistryHostConfig c = opts_.config.for_host(url_host(url));
  return TlsOptions{c.ca_file, c.insecure};
}

Credentials RegistryClient::credentials() {
  // Called with mu_ held.
  if (!creds_loaded_) {
    creds_loaded_ = true;
    if (opts_.credentials) creds_ = opts_.credentials();
  }
  return creds_;
}

void RegistryClient::ensure_pinged() {
  std::unique_lock<std::mutex> lk(mu_);
  if (pinged_) return;
  std::vector<std::string> schemes;
  if (host_cfg_.plain_http) {
    schemes = {"http"};
  } else {
    schemes = {"https"};
    if (is_loopback_host(host_)) schemes.push_back("http");
  }
  HttpResponse resp;
  int attempt = 0;
  for (size_t i = 0; i < schemes.size(); ++i) {
    base_url_ = schemes[i] + "://" + host_;
    origin_ = url_origin(base_url_);
    HttpRequest req;
    req.url = base_url_ + "/v2/";
    req.tls = TlsOptions{host_cfg_.ca_file, host_cfg_.insecure};
    req.timeout_connect_s = 15;
    try {
      attempt = 0;
      while (true) {
        ++attempt;
        try {
          resp = http_request(req, nullptr, 1 << 20);
        } catch (const TransportError& e) {
          // A TLS failure is an answer (plain HTTP server or bad certificate): do not retry.
          // Nor HTTPS on loopback when plain HTTP comes next: the same port is tried at once.
          bool last = i + 1 == schemes.size();
          if (e.tls_failure() || !last || attempt >= opts_.max_attempts) throw;
          lk.unlock();
          backoff(attempt, nullptr);
          lk.lock();
          continue;
        }
        if (is_retryable(resp.status) && attempt < opts_.max_attempts) {
          lk.unlock();
          backoff(attempt, &resp);
          lk.lock();
          continue;
        }
        break;
      }
      break;
    } catch (const TransportError& e) {
      if (i + 1 < schemes.size()) {
        log::debug(std::string("registry ") + host_ + ": HTTPS failed (" + e.what() +
                   "), trying plain HTTP on loopback");
        continue;
      }
      throw Error("registry " + host_ + ": " + e.what() +
                  (attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : ""));
    }
  }
  if (resp.status == 401) {
    pinged_ = true;
    lk.unlock();
    authenticate(resp);
    return;
  }
  if (resp.status != 200)
    throw Error(error_for("registry " + host_ + ": GET " + base_url_ + "/v2/", resp) +
                " (not an OCI distribution / Docker v2 registry?)");
  pinged_ = true;
}

void RegistryClient::authenticate(const HttpResponse& resp) {
  auto challenges = parse_www_authenticate(resp.www_authenticate);
  const AuthChallenge* bearer = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && !bearer) bearer = &c;
    if (c.scheme == "basic" && !basic) basic = &c;
  }
  std::lock_guard<std::mutex> lk(mu_);
  Credentials creds = credentials();
  if (bearer) {
    std::vector<std::string> scopes = {"repository:" + repo_ + ":pull"};
    if (auto s = bearer->params.find("scope");
        s != bearer->params.end() && s->second != scopes[0] && !s->second.empty())
      scopes.push_back(s->second);
    auto realm = bearer->params.find("realm");
    TlsOptions tls;
    if (realm != bearer->params.end()) tls = tls_for(realm->second);
    try {
      auth_header_ = fetch_bearer_token(*bearer, scopes, creds, tls);
    } catch (const std::exception& e) {
      throw Error("registry " + host_ + ": " + e.what());
    }
    return;
  }
  if (basic) {
    if (creds.username.empty() && creds.password.empty())
      throw Error("registry " + host_ +
                  ": authentication required and no credentials found (use --creds, "
                  "--auth-file or a Docker config.json)");
    auth_header_ = basic_auth_header(creds);
    return;
  }
  throw Error("registry " + host_ + ": 401 Unauthorized without a usable WWW-Authenticate "
                                    "challenge (Bearer or Basic)");
}

void RegistryClient::backoff(int attempt, const HttpResponse* resp) {
  long ms = long(opts_.retry_base_ms) << std::min(attempt - 1, 10);
  ms = std::min(ms, 10000L);
  if (resp && resp->status == 429) {
    // Retry-After in seconds, when the server says and it is reasonable.
    try {
      long s = std::stol(resp->header("retry-after"));
      if (s > 0 && s <= 60) ms = std::max(ms, s * 1000);
    } catch (const std::exception&) {
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string RegistryClient::error_for(const std::string& what, const HttpResponse& resp) const {
  std::string msg = what + ": " + status_text(resp.status);
  if (!resp.body.empty()) {
    std::string detail = registry_error_text(resp.body);
    if (!detail.empty()) msg += ": " + detail;
  }
  return msg;
}

HttpResponse RegistryClient::exchange(const std::string& url, const std::string& method,
                                      std::vector<std::string> headers, const BodySink& sink,
                                      size_t max_body) {
  ensure_pinged();
  std::string cur = url;
  bool reauthed = false;
  for (int hop = 0; hop <= 10; ++hop) {
    HttpRequest req;
    req.method = method;
    req.url = cur;
    req.headers = headers;
    req.low_speed_time_s = opts_.low_speed_time_s;
    bool same_origin = url_origin(cur) == origin_;
    req.tls = tls_for(cur);
    if (same_origin) {
      std::lock_guard<std::mutex> lk(mu_);
      // Never across hosts: S3 presigned URLs reject a second auth mechanism, and
      // credentials must not leak to whoever the Location points at.
      if (!auth_header_.empty()) req.headers.push_back("Authorization: " + auth_header_);
    }
    HttpResponse resp = http_request(req, sink, max_body);
    if (is_redirect(resp.status)) {
      std::string loc = resp.header("location");
      if (loc.empty())
        throw Error(method + " " + url_for_message(cur) + ": redirect without Location");
      cur = resolve_url(cur, loc);
      log::debug("registry " + host_ + ": redirected to " + url_for_message(cur));
      continue;
    }
    if (resp.status == 401 && same_origin && !reauthed) {
      reauthed = true;
      authenticate(resp);
      continue;
    }
    if (resp.status == 401) {
      std::lock_guard<std::mutex> lk(mu_);
      std::string who = creds_.empty() ? "anonymous access" : "credentials from " + creds_.source;
      throw Error(error_for(method + " " + url_for_message(cur), resp) + " (" + who +
                  " not accepted for " + host_ + "/" + repo_ + ")");
    }
    return resp;
  }
  throw Error(method + " " + url_for_message(url) + ": too many redirects");
}

HttpResponse RegistryClient::exchange_retrying(const std::string& url,
                                               const std::vector<std::string>& headers,
                                               size_t max_body) {
  for (int attempt = 1;; ++attempt) {
    try {
      HttpResponse resp = exchange(url, "GET", headers, nullptr, max_body);
      if (is_retryable(resp.status) && attempt < opts_.max_attempts) {
        log::debug("registry " + host_ + ": " + status_text(resp.status) + ", retrying");
        backoff(attempt, &resp);
        continue;
      }
      return resp;
    } catch (const TransportError& e) {
      if (attempt >= opts_.max_attempts)
        throw Error(std::string(e.what()) + " (after " + std::to_string(attempt) + " attempts)");
      log::debug(std::string("registry: ") + e.what() + ", retrying");
      backoff(attempt, nullptr);
    }
  }
}

ManifestBlob RegistryClient::get_manifest(const std::string& ref) {
  ensure_pinged();
  std::string url = base_url_ + "/v2/" + repo_ + "/manifests/" + ref;
  const std::string what = "manifest " + host_ + "/" + repo_ + (is_digest(ref) ? "@" : ":") + ref;
  HttpResponse resp =
      exchange_retrying(url, {std::string("Accept: ") + media::manifest_accept}, 4 << 20);
  if (resp.status == 404) throw Error(error_for(what + ": not found", resp));
  if (resp.status != 200) throw Error(error_for(what, resp));
  ManifestBlob m;
  m.body = std::move(resp.body);
  m.media_type = content_type(resp);
  if (is_digest(ref)) {
    Hasher h(parse_digest(ref, "digest").algorithm);
    h.update(m.body.data(), m.body.size());
    std::string got = h.finish();
    if (got != ref) throw Error(what + ": digest mismatch: got " + got);
    m.digest = ref;
  } else {
    m.digest = sha256_digest(m.body);
  }
  return m;
}

std::string RegistryClient::get_blob(const Descriptor& d, size_t max_size) {
  if (d.size > int64_t(max_size))
    throw Error("blob " + d.digest + ": size " + std::to_string(d.size) + " exceeds the limit of " +
                std::to_string(max_size) + " bytes");
  std::string out;
  fetch_blob(d, [&](const char* p, size_t n) {
    if (out.size() + n > max_size)
      throw Error("blob " + d.digest + ": larger than " + std::to_string(max_size) + " bytes");
    out.append(p, n);
  });
  return out;
}

void RegistryClient::fetch_blob(const Descriptor& d, const ByteSink& sink) {
  ensure_pinged();
  const std::string url = base_url_ + "/v2/" + repo_ + "/blobs/" + d.digest;
  const std::string what = "blob " + d.digest;
  DigestVerifier verifier(d.digest, d.size, "blob");
  int64_t got = 0;
  for (int attempt = 1;; ++attempt) {
    std::vector<std::string> headers;
    if (got > 0) headers.push_back("Range: bytes=" + std::to_string(got) + "-");
    int64_t skip = 0;
    bool started = false;
    auto body = [&](const HttpResponse& r, const char* p, size_t n) {
      if (!started) {
        started = true;
        if (got > 0 && r.status == 206) {
          std::string cr = r.header("content-range");  // "bytes 100-999/1000"
          std::string want = "bytes " + std::to_string(got) + "-";
          if (cr.rfind(want, 0) != 0)
            throw Error(what + ": resumed download returned the wrong range \"" + cr + "\"");
        } else if (got > 0) {
          skip = got;  // server ignored Range: drop what we already have
        }
      }
      if (skip > 0) {
        size_t k = size_t(std::min<int64_t>(skip, int64_t(n)));
        p += k;
        n -= k;
        skip -= int64_t(k);
      }
      if (n == 0) return;
      verifier.update(p, n);
      sink(p, n);
      got += int64_t(n);
    };
    HttpResponse resp;
    try {
      resp = exchange(url, "GET", headers, body, 1 << 20);
    } catch (const TransportError& e) {
      if (attempt >= opts_.max_attempts)
        throw Error(std::string(e.what()) + " (after " + std::to_string(attempt) +
                    " attempts, " + std::to_string(got) + " bytes received)");
      log::debug(std::string(e.what()) + ": resuming " + what + " at byte " +
                 std::to_string(got));
      backoff(attempt, nullptr);
      continue;
    }
    if (resp.status == 200 || resp.status == 206) {
      if (d.size >= 0 && got < d.size) {
        // Connection closed early without an error: resume.
        if (attempt >= opts_.max_attempts)
          throw Error(what + ": truncated after " + std::to_string(got) + " of " +
                      std::to_string(d.size) + " bytes");
        backoff(attempt, nullptr);
        continue;
      }
      break;
    }
    if (resp.status == 416 && d.size >= 0 && got == d.size) break;
    if (is_retryable(resp.status) && attempt < opts_.max_attempts) {
      backoff(attempt, &resp);
      continue;
    }
    if (resp.status == 404)
      throw Error(error_for(what + " of " + host_ + "/" + repo_ + ": not found", resp));
    throw Error(error_for("GET " + url_for_message(url), resp));
  }
  verifier.finish();
}

}  // namespace ecsa::oci
