#include "oci/ecr_auth.hpp"

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <cctype>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "common/log.hpp"
#include "oci/registry_http.hpp"

namespace ecsa::oci {

namespace {

struct CachedToken {
  Credentials creds;
  double expires_at = 0;
};

std::mutex cache_mu;
std::map<std::string, CachedToken>& cache() {
  static std::map<std::string, CachedToken> c;
  return c;
}

// Refreshed this long before expiry (the ECS agent uses 30 min plus jitter).
constexpr double kRefreshMargin = 30 * 60;

std::string cache_file_path(const EcrOptions& opts) {
  if (!opts.cache_file.empty()) return opts.cache_file == "none" ? "" : opts.cache_file;
  if (const char* d = std::getenv("ECSA_ECR_DISABLE_CACHE"); d && std::string(d) == "1")
    return "";
  if (const char* f = std::getenv("ECSA_ECR_CACHE"); f && *f)
    return std::string(f) == "none" ? "" : f;
  const char* state = std::getenv("ECSA_STATE_DIR");
  return std::string(state && *state ? state : "/var/lib/ecsa") + "/auth/ecr-tokens.json";
}

// {"<key>": {"username", "password", "expiresAt"}}; a broken file is ignored (it is a cache).
json::Json read_cache_file(const std::string& path) {
  if (path.empty()) return json::Json::object();
  try {
    auto text = fs::read_file_if_exists(path);
    if (!text) return json::Json::object();
    auto j = json::Json::parse(*text);
    return j.is_object() ? j : json::Json::object();
  } catch (const std::exception& e) {
    log::debug(std::string("ECR token cache ignored: ") + e.what());
    return json::Json::object();
  }
}

std::optional<CachedToken> from_file(const std::string& path, const std::string& key) {
  json::Json all = read_cache_file(path);
  if (!all.contains(key)) return std::nullopt;
  try {
    const auto& e = all[key];
    CachedToken t;
    t.creds.username = e.at("username").get<std::string>();
    t.creds.password = e.at("password").get<std::string>();
    t.creds.source = "ecr:GetAuthorizationToken (cached)";
    t.expires_at = e.at("expiresAt").get<double>();
    return t;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void to_file(const std::string& path, const std::string& key, const CachedToken& t) {
  if (path.empty()) return;
  try {
    json::Json all = read_cache_file(path);
    const double now = double(std::time(nullptr));
    for (auto it = all.begin(); it != all.end();) {  // drop expired entries
      if (!it->is_object() || it->value("expiresAt", 0.0) < now)
        it = all.erase(it);
      else
        ++it;
    }
    all[key] = {{"username", t.creds.username}, {"password", t.creds.password},
                {"expiresAt", t.expires_at}};
    fs::mkdir_p(fs::dirname(path), 0700);
    fs::write_file_atomic(path, all.dump(), 0600);
  } catch (const std::exception& e) {
    // A read-only state dir must not fail the pull: the token is still good in memory.
    log::debug(std::string("ECR token cache not written: ") + e.what());
  }
}

std::string aws_error_text(const std::string& body) {
  try {
    auto j = json::Json::parse(body);
    std::string type = j.value("__type", std::string());
    if (auto h = type.find('#'); h != std::string::npos) type = type.substr(h + 1);
    std::string msg = j.value("message", j.value("Message", std::string()));
    return type + (msg.empty() ? "" : ": " + msg);
  } catch (const std::exception&) {
    return body.substr(0, 200);
  }
}

}  // namespace

namespace detail {
void ecr_forget_memory_cache() {
  std::lock_guard<std::mutex> lk(cache_mu);
  cache().clear();
}
}  // namespace detail

std::string EcrRegistry::api_endpoint() const {
  return "https://api.ecr" + std::string(fips ? "-fips" : "") + "." + region + "." + dns_suffix +
         "/";
}

std::optional<EcrRegistry> parse_ecr_host(const std::string& host) {
  // The pattern of amazon-ecr-credential-helper (ecr-login/api/client.go):
  // ^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(<partition suffix>)$
  static const char* const suffixes[] = {"amazonaws.com",    "amazonaws.com.cn",
                                         "amazonaws.eu",     "on.aws",
                                         "on.amazonwebservices.com.cn", "sc2s.sgov.gov",
                                         "c2s.ic.gov",       "cloud.adc-e.uk",
                                         "csp.hci.ic.gov"};
  if (host.size() < 12 + 9) return std::nullopt;
  for (size_t i = 0; i < 12; ++i)
    if (!std::isdigit(static_cast<unsigned char>(host[i]))) return std::nullopt;
  EcrRegistry r;
  r.account = host.substr(0, 12);
  std::string rest = host.substr(12);
  if (rest.rfind(".dkr.ecr", 0) != 0 && rest.rfind(".dkr-ecr", 0) != 0) return std::nullopt;
  rest = rest.substr(8);
  if (rest.rfind("-fips", 0) == 0) {
    r.fips = true;
    rest = rest.substr(5);
  }
  if (rest.empty() || rest[0] != '.') return std::nullopt;
  rest = rest.substr(1);
  size_t dot = rest.find('.');
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  r.region = rest.substr(0, dot);
  if (!std::isalnum(static_cast<unsigned char>(r.region[0]))) return std::nullopt;
  for (char c : r.region)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return std::nullopt;
  r.dns_suffix = rest.substr(dot + 1);
  bool known = false;
  for (const char* s : suffixes) known = known || r.dns_suffix == s;
  if (!known) return std::nullopt;
  // Dual-stack hosts (.on.aws) use the standard API endpoint of the partition.
  if (r.dns_suffix == "on.aws") r.dns_suffix = "amazonaws.com";
  if (r.dns_suffix == "on.amazonwebservices.com.cn") r.dns_suffix = "amazonaws.com.cn";
  return r;
}

Credentials parse_ecr_token_reply(const std::string& body, double* expires_at) {
  const std::string what = "ecr:GetAuthorizationToken reply";
  json::Json doc = json::parse(body, what);
  json::Node root(doc, what);
  auto items = root.at("authorizationData").items();
  if (items.size() != 1)
    root.at("authorizationData").fail("expected exactly 1 entry, got " +
                                      std::to_string(items.size()));
  const json::Node& d = items[0];
  std::string decoded = base64_decode(d.at("authorizationToken").str(),
                                      d.path() + ".authorizationToken");
  auto colon = decoded.find(':');
  if (colon == std::string::npos)
    d.at("authorizationToken").fail("expected base64 of AWS:<password>");
  Credentials c;
  c.username = decoded.substr(0, colon);
  c.password = decoded.substr(colon + 1);
  c.source = "ecr:GetAuthorizationToken";
  if (expires_at) *expires_at = d.opt("expiresAt") ? d.at("expiresAt").num() : 0;
  return c;
}

Credentials ecr_credentials(const EcrRegistry& reg, const EcrOptions& opts) {
  std::string endpoint = opts.endpoint;
  if (endpoint.empty()) {
    const char* e = std::getenv("ECSA_ECR_ENDPOINT");
    endpoint = e && *e ? e : reg.api_endpoint();
  }
  std::string ca = opts.ca_file;
  if (ca.empty()) {
    const char* e = std::getenv("ECSA_ECR_CA_FILE");
    if (e) ca = e;
  }
  if (!libcurl_at_least(7, 86))
    throw Error("ECR authentication needs libcurl 7.86 or newer (older versions leave headers "
                "out of the SigV4 signature); this system has libcurl " + libcurl_version());
  AwsCredentials aws = aws_credentials();
  const std::string key = reg.region + "|" + reg.account + "|" + endpoint + "|" + aws.access_key_id;
  const double now = double(std::time(nullptr));
  const std::string cache_path = cache_file_path(opts);
  std::lock_guard<std::mutex> lk(cache_mu);
  auto it = cache().find(key);
  if (it == cache().end())
    if (auto t = from_file(cache_path, key)) it = cache().emplace(key, *t).first;
  if (it != cache().end() && now < it->second.expires_at - kRefreshMargin) return it->second.creds;

  HttpRequest req;
  req.method = "POST";
  req.url = endpoint;
  req.tls.ca_file = ca;
  req.timeout_connect_s = 10;
  req.low_speed_time_s = 20;
  req.headers = {"Content-Type: application/x-amz-json-1.1",
                 "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"};
  if (!aws.session_token.empty()) req.headers.push_back("X-Amz-Security-Token: " + aws.session_token);
  req.body = "{\"registryIds\":[\"" + reg.account + "\"]}";
  // libcurl computes the SigV4 signature over method, path, the headers above and the body.
  req.aws_sigv4 = "aws:amz:" + reg.region + ":ecr";
  req.userpwd = aws.access_key_id + ":" + aws.secret_access_key;
  const std::string where = "ecr:GetAuthorizationToken at " + url_for_message(endpoint) +
                            " (AWS credentials from " + aws.source + ")";
  try {
    HttpResponse resp = http_request(req, nullptr, 1 << 20);
    if (resp.status != 200)
      throw Error(where + ": HTTP status " + std::to_string(resp.status) + ": " +
                  aws_error_text(resp.body));
    double expires = 0;
    Credentials c = parse_ecr_token_reply(resp.body, &expires);
    if (expires <= 0) expires = now + 12 * 3600;
    cache()[key] = {c, expires};
    to_file(cache_path, key, {c, expires});
    return c;
  } catch (const std::exception& e) {
    // As amazon-ecr-credential-helper does: a cached token that has not expired yet beats
    // no token at all.
    if (it != cache().end() && now < it->second.expires_at) {
      log::warn(std::string("refreshing the ECR token failed, using the cached one: ") + e.what());
      return it->second.creds;
    }
    if (dynamic_cast<const Error*>(&e)) throw;
    throw Error(where + ": " + e.what());
  }
}

}  // namespace ecsa::oci
