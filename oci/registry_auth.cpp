#include "oci/registry_auth.hpp"

#include <cctype>

#include "common/error.hpp"
#include "common/json_node.hpp"

namespace ecsa::oci {

std::vector<AuthChallenge> parse_www_authenticate(const std::vector<std::string>& values) {
  std::vector<AuthChallenge> out;
  for (const auto& v : values) {
    size_t i = 0;
    auto skip_ws = [&] {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    };
    auto token = [&] {
      size_t s = i;
      while (i < v.size() && v[i] != ' ' && v[i] != '\t' && v[i] != '=' && v[i] != ',') ++i;
      return v.substr(s, i - s);
    };
    while (i < v.size()) {
      skip_ws();
      if (i < v.size() && v[i] == ',') {
        ++i;
        continue;
      }
      std::string scheme = token();
      if (scheme.empty()) break;
      AuthChallenge ch;
      for (char c : scheme) ch.scheme += char(std::tolower(static_cast<unsigned char>(c)));
      // Parameters: name=value or name="quoted", comma separated, until the next scheme.
      while (i < v.size()) {
        skip_ws();
        size_t mark = i;
        std::string name = token();
        skip_ws();
        if (name.empty() || i >= v.size() || v[i] != '=') {
          i = mark;  // next challenge's scheme
          break;
        }
        ++i;
        skip_ws();
        std::string value;
        if (i < v.size() && v[i] == '"') {
          ++i;
          while (i < v.size() && v[i] != '"') {
            if (v[i] == '\\' && i + 1 < v.size()) ++i;
            value += v[i++];
          }
          if (i < v.size()) ++i;
        } else {
          size_t s = i;
          while (i < v.size() && v[i] != ',') ++i;
          value = v.substr(s, i - s);
          while (!value.empty() && value.back() == ' ') value.pop_back();
        }
        std::string lname;
        for (char c : name) lname += char(std::tolower(static_cast<unsigned char>(c)));
        ch.params[lname] = value;
        skip_ws();
        if (i < v.size() && v[i] == ',') ++i;
      }
      out.push_back(std::move(ch));
    }
  }
  return out;
}

std::string basic_auth_header(const Credentials& c) {
  return "Basic " + base64_encode(c.username + ":" + c.password);
}

std::string fetch_bearer_token(const AuthChallenge& ch, const std::vector<std::string>& scopes,
                               const Credentials& creds, const TlsOptions& tls) {
  auto realm_it = ch.params.find("realm");
  if (realm_it == ch.params.end() || realm_it->second.empty())
    throw Error("registry Bearer challenge without a realm");
  const std::string& realm = realm_it->second;
  if (realm.rfind("https://", 0) != 0 && realm.rfind("http://", 0) != 0)
    throw Error("registry token realm \"" + url_for_message(realm) + "\" is not an http(s) URL");
  if (!creds.registry_token.empty()) return "Bearer " + creds.registry_token;
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  bool first = true;
  auto add = [&](const std::string& k, const std::string& v) {
    url += (first ? "" : "&") + k + "=" + url_escape(v);
    first = false;
  };
  if (auto s = ch.params.find("service"); s != ch.params.end()) add("service", s->second);
  for (const auto& sc : scopes) add("scope", sc);
  HttpRequest req;
  req.url = url;
  req.tls = tls;
  if (!creds.username.empty() || !creds.password.empty())
    req.headers.push_back("Authorization: " + basic_auth_header(creds));
  if (!creds.identity_token.empty() && creds.username.empty()) {
    // OAuth2 refresh-token grant (what `docker login` with a token stores).
    req.method = "POST";
    req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
    req.url = realm;
    req.body = "grant_type=refresh_token&client_id=ecsa&refresh_token=" +
               url_escape(creds.identity_token);
    if (auto s = ch.params.find("service"); s != ch.params.end())
      req.body += "&service=" + url_escape(s->second);
    for (const auto& sc : scopes) req.body += "&scope=" + url_escape(sc);
  }
  HttpResponse resp = http_request(req, nullptr, 1 << 20);
  const std::string where = "token request to " + url_for_message(realm);
  if (resp.status == 401 || resp.status == 403)
    throw Error(where + ": " + std::to_string(resp.status) +
                (creds.empty() ? " (anonymous access refused; credentials needed)"
                               : " (credentials from " + creds.source + " refused)"));
  if (resp.status != 200)
    throw Error(where + ": HTTP status " + std::to_string(resp.status));
  json::Json doc = json::parse(resp.body, where);
  json::Node root(doc, "token response");
  std::string token = root.str_or("token", "");
  if (token.empty()) token = root.str_or("access_token", "");
  if (token.empty()) throw Error(where + ": response has neither token nor access_token");
  return "Bearer " + token;
}

}  // namespace ecsa::oci
