#include "oci/registry_http.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>

#include "common/error.hpp"

namespace ecsa::oci {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Transfer {
  const BodySink* sink;
  size_t max_body;
  HttpResponse* resp;
  CURL* curl;
  std::exception_ptr error;
  bool status_known = false;
  bool to_sink = false;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  std::string line(data, len);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after 100 Continue or similar): forget earlier headers.
    t->resp->headers.clear();
    t->resp->www_authenticate.clear();
    return len;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return len;
  std::string name = lower(line.substr(0, colon));
  std::string value = line.substr(colon + 1);
  size_t b = value.find_first_not_of(" \t");
  value = b == std::string::npos ? "" : value.substr(b);
  if (name == "www-authenticate") t->resp->www_authenticate.push_back(value);
  t->resp->headers[name] = value;
  return len;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (!t->status_known) {
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    t->status_known = true;
    t->resp->status = code;
    t->to_sink = *t->sink && code >= 200 && code < 300;
  }
  if (t->to_sink) {
    try {
      (*t->sink)(*t->resp, data, len);
      t->resp->body_bytes += int64_t(len);
    } catch (...) {
      t->error = std::current_exception();
      return 0;  // aborts the transfer
    }
    return len;
  }
  size_t limit = *t->sink ? std::min<size_t>(t->max_body, 64 << 10) : t->max_body;
  if (t->resp->body.size() + len > limit) {
    if (*t->sink) return len;  // error bodies: keep the start only
    t->error = std::make_exception_ptr(
        Error("response body larger than " + std::to_string(limit) + " bytes"));
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

bool TransportError::tls_failure() const {
  return code == CURLE_SSL_CONNECT_ERROR || code == CURLE_PEER_FAILED_VERIFICATION ||
         code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_CIPHER ||
         code == CURLE_SSL_CACERT_BADFILE;
}

HttpResponse http_request(const HttpRequest& req, const BodySink& sink, size_t max_body) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) throw Error("curl_easy_init failed");
  CURL* c = curl.get();
  HttpResponse resp;
  Transfer t{&sink, max_body, &resp, c, nullptr};
  char errbuf[CURL_ERROR_SIZE] = "";

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& h : req.headers) {
    curl_slist* l = curl_slist_append(headers.get(), h.c_str());
    if (!l) throw Error("curl_slist_append failed");
    headers.release();
    headers.reset(l);
  }
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req.timeout_connect_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req.low_speed_time_s);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ecsa/" ECSA_VERSION);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L << 10);
  // Blobs are compressed already; do not ask for transfer compression.
  if (!req.tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, req.tls.ca_file.c_str());
  if (req.tls.insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, long(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (!req.aws_sigv4.empty()) curl_easy_setopt(c, CURLOPT_AWS_SIGV4, req.aws_sigv4.c_str());
  if (!req.userpwd.empty()) curl_easy_setopt(c, CURLOPT_USERPWD, req.userpwd.c_str());

  CURLcode rc = curl_easy_perform(c);
  if (t.error) std::rethrow_exception(t.error);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    throw TransportError(req.method + " " + url_for_message(req.url) + ": " + why, int(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

std::string url_for_message(const std::string& url) {
  auto cut = url.find_first_of("?#");
  return cut == std::string::npos ? url : url.substr(0, cut);
}

namespace {
struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
std::string url_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* s = nullptr;
  if (curl_url_get(u, part, &s, flags) != CURLUE_OK || !s) return "";
  std::string out = s;
  curl_free(s);
  return out;
}
std::unique_ptr<CURLU, UrlDeleter> parse_url(const std::string& url) {
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    throw Error("invalid URL \"" + url_for_message(url) + "\"");
  return u;
}
}  // namespace

std::string resolve_url(const std::string& base, const std::string& location) {
  auto u = parse_url(base);
  if (curl_url_set(u.get(), CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
    throw Error("invalid redirect location \"" + url_for_message(location) + "\"");
  return url_part(u.get(), CURLUPART_URL);
}

std::string url_origin(const std::string& url) {
  auto u = parse_url(url);
  return lower(url_part(u.get(), CURLUPART_SCHEME) + "://" + url_part(u.get(), CURLUPART_HOST) +
               ":" + url_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT));
}

std::string url_host(const std::string& url) {
  auto u = parse_url(url);
  return lower(url_part(u.get(), CURLUPART_HOST));
}

std::string libcurl_version() {
  std::string v = curl_version();  // "libcurl/7.88.1 OpenSSL/3.0.11 ..."
  auto slash = v.find('/');
  auto space = v.find(' ');
  if (slash == std::string::npos) return v;
  return v.substr(slash + 1, space == std::string::npos ? std::string::npos : space - slash - 1);
}

bool libcurl_at_least(int major, int minor) {
  int ma = 0, mi = 0;
  if (std::sscanf(libcurl_version().c_str(), "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

std::string base64_encode(const std::string& in) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string base64_decode(const std::string& in, const std::string& what) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    int v = val(c);
    if (v < 0) throw Error(what + ": invalid base64");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string url_escape(const std::string& s) {
  std::string out;
  static const char hex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace ecsa::oci
