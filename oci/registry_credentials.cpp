#include "oci/registry_credentials.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "common/log.hpp"
#include "oci/registry_http.hpp"

extern char** environ;

namespace ecsa::oci {

namespace {

// "https://index.docker.io/v1/" -> "index.docker.io"
std::string key_host(std::string k) {
  if (auto p = k.find("://"); p != std::string::npos) k = k.substr(p + 3);
  if (auto s = k.find('/'); s != std::string::npos) k = k.substr(0, s);
  return k;
}

bool key_matches(const std::string& key, const std::string& domain) {
  std::string h = key_host(key);
  if (domain == "docker.io")
    return h == "index.docker.io" || h == "docker.io" || h == "registry-1.docker.io";
  return h == domain;
}

// The server name helpers are asked about: Docker Hub is stored under its v1 URL.
std::string helper_server(const std::string& domain) {
  return domain == "docker.io" ? "https://index.docker.io/v1/" : domain;
}

}  // namespace

Credentials parse_registry_auth(const std::string& text, const std::string& source) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  size_t b = t.find_first_not_of(" \n\r\t");
  if (b == std::string::npos) throw Error(source + ": empty registry auth");
  t = t.substr(b);
  std::string json_text = t[0] == '{' || t[0] == '[' ? t : base64_decode(t, source);
  json::Json doc = json::parse(json_text, source);
  json::Node root(doc, source);
  if (!root.raw().is_object()) root.expected("an object with username/password");
  Credentials c;
  c.username = root.str_or("username", "");
  c.password = root.str_or("password", "");
  c.identity_token = root.str_or("identitytoken", "");
  c.registry_token = root.str_or("registrytoken", "");
  // Docker clients sometimes send only "auth" (base64 of user:pass).
  if (c.username.empty() && c.password.empty()) {
    std::string auth = root.str_or("auth", "");
    if (!auth.empty()) {
      std::string up = base64_decode(auth, source + ": auth");
      auto colon = up.find(':');
      if (colon == std::string::npos) root.at("auth").fail("expected base64 of user:password");
      c.username = up.substr(0, colon);
      c.password = up.substr(colon + 1);
    }
  }
  c.source = source;
  return c;
}

Credentials parse_creds_flag(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos || colon == 0)
    throw Error("--creds: expected USER:PASSWORD");
  Credentials c;
  c.username = s.substr(0, colon);
  c.password = s.substr(colon + 1);
  c.source = "--creds";
  return c;
}

std::optional<Credentials> docker_config_credentials(const std::string& domain) {
  std::string path;
  if (const char* dc = std::getenv("DOCKER_CONFIG"); dc && *dc) {
    path = fs::join(dc, "config.json");
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    path = fs::join(fs::join(home, ".docker"), "config.json");
  } else {
    return std::nullopt;
  }
  return docker_config_credentials_from(path, domain);
}

std::optional<Credentials> docker_config_credentials_from(const std::string& path,
                                                          const std::string& domain) {
  auto text = fs::read_file_if_exists(path);
  if (!text) return std::nullopt;
  json::Json doc = json::parse(*text, path);
  json::Node root(doc, path);
  if (auto helpers = root.opt("credHelpers")) {
    for (const auto& [key, node] : helpers->members())
      if (key_matches(key, domain)) return run_credential_helper(node.str(), helper_server(domain));
  }
  if (auto auths = root.opt("auths")) {
    for (const auto& [key, node] : auths->members()) {
      if (!key_matches(key, domain)) continue;
      Credentials c;
      c.source = path;
      c.username = node.str_or("username", "");
      c.password = node.str_or("password", "");
      c.identity_token = node.str_or("identitytoken", "");
      c.registry_token = node.str_or("registrytoken", "");
      std::string auth = node.str_or("auth", "");
      if (!auth.empty()) {
        std::string up = base64_decode(auth, node.path() + ".auth");
        auto colon = up.find(':');
        if (colon == std::string::npos)
          node.at("auth").fail("expected base64 of user:password");
        c.username = up.substr(0, colon);
        c.password = up.substr(colon + 1);
      }
      // An entry with nothing but a key means "use the credsStore".
      if (!c.empty()) return c;
    }
  }
  if (auto store = root.opt("credsStore"); store && !store->str().empty())
    return run_credential_helper(store->str(), helper_server(domain));
  return std::nullopt;
}

std::optional<Credentials> run_credential_helper(const std::string& helper,
                                                 const std::string& server) {
  for (char c : helper)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      throw Error("credential helper \"" + helper + "\": invalid name");
  const std::string prog = "docker-credential-" + helper;
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) throw_errno("pipe for " + prog);
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (pipe2(out, O_CLOEXEC) != 0) throw_errno("pipe for " + prog);
  UniqueFd out_r(out[0]), out_w(out[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  std::string get = "get";
  char* argv[] = {const_cast<char*>(prog.c_str()), get.data(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw_errno("run credential helper " + prog, rc);
  in_r.reset();
  out_w.reset();
  // The request is tiny: it fits the pipe buffer, so writing before reading cannot block.
  // A helper that exits without reading makes the write fail with EPIPE; SIGPIPE is blocked
  // for this thread meanwhile and a pending one discarded, so it cannot kill the process.
  std::string req = server + "\n";
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t w = write(in_w.get(), req.data(), req.size());
  if (w < 0 && errno == EPIPE) {
    timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  in_w.reset();
  std::string output;
  char buf[4096];
  while (true) {
    ssize_t n = read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < (1 << 20)) output.append(buf, size_t(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    // "credentials not found in native keychain" is the helpers' way of saying none.
    if (output.find("credentials not found") != std::string::npos) return std::nullopt;
    throw Error(prog + " get " + server + ": exited with status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  }
  json::Json doc = json::parse(output, prog + " output");
  json::Node root(doc, prog + " output");
  Credentials c;
  c.source = prog;
  c.username = root.str_or("Username", "");
  std::string secret = root.str_or("Secret", "");
  // Helpers return identity tokens with the username "<token>".
  if (c.username == "<token>") {
    c.username.clear();
    c.identity_token = secret;
  } else {
    c.password = secret;
  }
  if (c.empty()) return std::nullopt;
  return c;
}

}  // namespace ecsa::oci
