#include "net/etc_files.hpp"

#include <sstream>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace ecsa::net {
namespace {

// Docker's fallback when the host has no usable resolver.
const std::vector<std::string> kFallbackDns = {"8.8.8.8", "8.8.4.4"};

struct Resolv {
  std::vector<std::string> nameservers, search, options;
};

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

Resolv parse_resolv(const std::string& text) {
  Resolv r;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto w = words(line);
    if (w.empty() || w[0][0] == '#' || w[0][0] == ';') continue;
    if (w[0] == "nameserver" && w.size() >= 2) {
      r.nameservers.push_back(w[1]);
    } else if (w[0] == "search" || w[0] == "domain") {
      // The last search/domain line wins, as in the resolver.
      r.search.assign(w.begin() + 1, w.end());
    } else if (w[0] == "options") {
      r.options.insert(r.options.end(), w.begin() + 1, w.end());
    }
  }
  return r;
}

bool is_loopback(const std::string& ns) {
  return ns.rfind("127.", 0) == 0 || ns == "::1";
}

bool any_loopback(const std::vector<std::string>& v) {
  for (const auto& ns : v)
    if (is_loopback(ns)) return true;
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace

std::string container_hostname(const NetworkConfig& cfg, const std::string& container_name) {
  std::string h = cfg.hostname.empty() ? container_name : cfg.hostname;
  if (h.size() > 63) h.resize(63);
  return h;
}

std::string render_hosts(const NetworkConfig& cfg, const NetworkState& st,
                         const std::string& container_name) {
  std::string host = container_hostname(cfg, container_name);
  std::string names = host;
  if (!container_name.empty() && container_name != host) names += " " + container_name;
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\n"
      "ff02::1\tip6-allnodes\n"
      "ff02::2\tip6-allrouters\n";
  if (!names.empty()) {
    if (!st.ip.empty())
      out += st.ip + "\t" + names + "\n";
    else if (cfg.mode == "none")
      out += "127.0.1.1\t" + names + "\n";
  }
  for (const auto& e : cfg.extra_hosts) {
    // "name:ip" (the ip may be IPv6, so split at the first separator) or "name=ip".
    auto sep = e.find('=');
    if (sep == std::string::npos) sep = e.find(':');
    if (sep == std::string::npos || sep == 0 || sep + 1 == e.size())
      throw Error("extra host \"" + e + "\": expected name:ip");
    out += e.substr(sep + 1) + "\t" + e.substr(0, sep) + "\n";
  }
  return out;
}

std::string render_resolv_conf(const NetworkConfig& cfg, const std::string& host_resolv,
                               const std::optional<std::string>& upstream_resolv) {
  Resolv host = parse_resolv(host_resolv);
  Resolv r = host;
  if (cfg.mode != "host" && any_loopback(host.nameservers)) {
    if (upstream_resolv) {
      Resolv up = parse_resolv(*upstream_resolv);
      r.nameservers = up.nameservers;
      if (r.search.empty()) r.search = up.search;
    }
    std::vector<std::string> keep;
    for (const auto& ns : r.nameservers)
      if (!is_loopback(ns)) keep.push_back(ns);
    r.nameservers = keep;
    if (r.nameservers.empty() && cfg.dns.empty()) {
      log::warn("the host's only DNS resolvers are on loopback; containers use " +
                join(kFallbackDns));
      r.nameservers = kFallbackDns;
    }
  }
  if (!cfg.dns.empty()) r.nameservers = cfg.dns;
  if (!cfg.dns_search.empty()) {
    r.search.clear();
    // "." means no search domains, as docker --dns-search=.
    for (const auto& d : cfg.dns_search)
      if (d != ".") r.search.push_back(d);
  }
  if (!cfg.dns_options.empty()) r.options = cfg.dns_options;
  std::string out;
  for (const auto& ns : r.nameservers) out += "nameserver " + ns + "\n";
  if (!r.search.empty()) out += "search " + join(r.search) + "\n";
  if (!r.options.empty()) out += "options " + join(r.options) + "\n";
  return out;
}

void write_etc_files(const std::string& dir, const NetworkConfig& cfg, const NetworkState& st,
                     const std::string& container_name) {
  std::string hosts = render_hosts(cfg, st, container_name);
  std::string host_resolv = fs::read_file_if_exists("/etc/resolv.conf").value_or("");
  std::string resolv = render_resolv_conf(
      cfg, host_resolv, fs::read_file_if_exists("/run/systemd/resolve/resolv.conf"));
  fs::mkdir_p(dir);
  fs::write_file_atomic(fs::join(dir, "hosts"), hosts);
  fs::write_file_atomic(fs::join(dir, "resolv.conf"), resolv);
  fs::write_file_atomic(fs::join(dir, "hostname"), container_hostname(cfg, container_name) + "\n");
}

}  // namespace ecsa::net
