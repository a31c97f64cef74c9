#include "oci/aws_credentials.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <mutex>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "oci/registry_http.hpp"

namespace ecsa::oci {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The shared file is re-read only when it changed (the SSM agent rewrites it on rotation).
struct FileCache {
  std::mutex mu;
  std::string path;
  struct timespec mtime {};
  off_t size = -1;
  ino_t ino = 0;
  std::string text;
};

std::optional<std::string> read_shared_file(const std::string& path) {
  static FileCache cache;
  std::lock_guard<std::mutex> lk(cache.mu);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_errno("stat " + path);
  }
  if (cache.path != path || cache.size != st.st_size || cache.ino != st.st_ino ||
      cache.mtime.tv_sec != st.st_mtim.tv_sec || cache.mtime.tv_nsec != st.st_mtim.tv_nsec) {
    cache.text = fs::read_file(path);
    cache.path = path;
    cache.size = st.st_size;
    cache.ino = st.st_ino;
    cache.mtime = st.st_mtim;
  }
  return cache.text;
}

std::optional<AwsCredentials> from_container_endpoint() {
  std::string url = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (url.empty()) {
    std::string rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    if (rel.empty()) return std::nullopt;
    url = "http://169.254.170.2" + rel;
  }
  HttpRequest req;
  req.url = url;
  req.timeout_connect_s = 5;
  req.low_speed_time_s = 10;
  std::string token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (std::string f = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !f.empty())
    token = trim(fs::read_file(f));
  if (!token.empty()) req.headers.push_back("Authorization: " + token);
  const std::string where = "container credentials endpoint " + url_for_message(url);
  HttpResponse resp;
  try {
    resp = http_request(req, nullptr, 1 << 20);
  } catch (const std::exception& e) {
    throw Error(std::string("AWS credentials: ") + e.what());
  }
  if (resp.status != 200)
    throw Error("AWS credentials: " + where + ": HTTP status " + std::to_string(resp.status));
  json::Json doc = json::parse(resp.body, where);
  json::Node root(doc, where);
  AwsCredentials c;
  c.access_key_id = root.at("AccessKeyId").str();
  c.secret_access_key = root.at("SecretAccessKey").str();
  c.session_token = root.str_or("Token", "");
  c.source = where;
  return c;
}

}  // namespace

std::optional<AwsCredentials> parse_shared_credentials(const std::string& text,
                                                       const std::string& profile,
                                                       const std::string& source) {
  AwsCredentials c;
  c.source = source;
  bool in = false, found = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = trim(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name = trim(line.substr(1, line.size() - 2));
      if (name.rfind("profile ", 0) == 0) name = trim(name.substr(8));
      in = name == profile;
      found = found || in;
      continue;
    }
    if (!in) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
    if (k == "aws_access_key_id") c.access_key_id = v;
    else if (k == "aws_secret_access_key") c.secret_access_key = v;
    else if (k == "aws_session_token") c.session_token = v;
  }
  if (!found || c.access_key_id.empty() || c.secret_access_key.empty()) return std::nullopt;
  return c;
}

AwsCredentials aws_credentials() {
  if (!env("AWS_ACCESS_KEY_ID").empty() && !env("AWS_SECRET_ACCESS_KEY").empty())
    return {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"),
            "environment"};
  std::string path = env("AWS_SHARED_CREDENTIALS_FILE");
  if (path.empty() && !env("HOME").empty()) path = env("HOME") + "/.aws/credentials";
  std::string profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  if (!path.empty())
    if (auto text = read_shared_file(path))
      if (auto c = parse_shared_credentials(*text, profile, path)) return *c;
  if (auto c = from_container_endpoint()) return *c;
  throw Error("no AWS credentials for ECR: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
              "or profile \"" + profile + "\" in " + (path.empty() ? "~/.aws/credentials" : path) +
              ", or AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
}

}  // namespace ecsa::oci
