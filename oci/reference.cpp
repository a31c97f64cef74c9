#include "oci/reference.hpp"

#include "common/error.hpp"
#include "oci/digest.hpp"

namespace ecsa::oci {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*  (distribution/reference grammar).
bool valid_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (!word(t[0])) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

bool valid_domain(std::string_view d) {
  if (d.empty()) return false;
  // IPv6 literal in brackets, optionally with a port.
  if (d.front() == '[') {
    auto close = d.find(']');
    if (close == std::string_view::npos) return false;
    auto rest = d.substr(close + 1);
    if (rest.empty()) return true;
    return rest.size() > 1 && rest[0] == ':' &&
           rest.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
  }
  auto colon = d.find(':');
  std::string_view host = d.substr(0, colon);
  if (host.empty()) return false;
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  if (colon != std::string_view::npos) {
    auto port = d.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos)
      return false;
  }
  return true;
}

}  // namespace

std::string Reference::name() const { return domain + "/" + path; }

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::registry_host() const {
  return domain == "docker.io" ? "registry-1.docker.io" : domain;
}

Reference parse_reference(std::string_view input) {
  const std::string quoted = "\"" + std::string(input) + "\"";
  auto fail = [&](const std::string& why) -> Error {
    return Error("invalid image reference " + quoted + ": " + why);
  };
  if (input.empty()) throw Error("invalid image reference \"\": empty");
  if (input.size() > 1024) throw fail("longer than 1024 characters");
  Reference r;
  std::string_view rest = input;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    try {
      r.digest = parse_digest(rest.substr(at + 1), "digest").str();
    } catch (const Error& e) {
      throw fail(e.what());
    }
    rest = rest.substr(0, at);
  }
  // A tag follows the last ':' only if no '/' comes after it (else it is a registry port).
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag)) throw fail("invalid tag \"" + std::string(tag) + "\"");
    r.tag = tag;
    rest = rest.substr(0, colon);
  }
  // The first component is a registry if it looks like a host: has '.', ':', '[' or is localhost.
  auto slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  if (slash != std::string_view::npos &&
      (first.find_first_of(".:[") != std::string_view::npos || first == "localhost")) {
    if (!valid_domain(first)) throw fail("invalid registry host \"" + std::string(first) + "\"");
    r.domain = first;
    rest = rest.substr(slash + 1);
  } else {
    r.domain = "docker.io";
  }
  if (r.domain == "index.docker.io" || r.domain == "registry-1.docker.io") r.domain = "docker.io";
  if (rest.empty()) throw fail("missing repository name");
  for (char c : rest)
    if (c >= 'A' && c <= 'Z') throw fail("repository name must be lowercase");
  size_t start = 0;
  while (true) {
    size_t end = rest.find('/', start);
    std::string_view comp = rest.substr(start, end == std::string_view::npos ? end : end - start);
    if (!valid_component(comp))
      throw fail("invalid repository name component \"" + std::string(comp) + "\"");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  r.path = rest;
  if (r.domain == "docker.io" && r.path.find('/') == std::string::npos)
    r.path = "library/" + r.path;
  if (r.name().size() > 255) throw fail("repository name longer than 255 characters");
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  return r;
}

}  // namespace ecsa::oci
