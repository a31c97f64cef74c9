#include "tests/support/registry.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::test {

namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    throw_errno("bind 127.0.0.1:0");
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(uint16_t(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

bool have(const std::string& prog) {
  return std::system(("command -v " + prog + " >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace

std::string source_dir() {
  if (const char* s = std::getenv("ECSA_SRC"); s && *s) return s;
  if (const char* b = std::getenv("ECSA_BUILD"); b && *b) {
    std::string parent = fs::dirname(b);
    if (fs::exists(parent + "/rootfs-fixtures")) return parent;
  }
  return ".";
}

bool registry_tools_available() {
  for (const char* p : {"docker-registry", "skopeo", "openssl", "htpasswd", "python3", "zstd"})
    if (!have(p)) return false;
  return true;
}

std::string run_shell(const std::string& cmd) {
  std::string full = "(" + cmd + ") 2>&1";
  FILE* f = popen(full.c_str(), "r");
  if (!f) throw_errno("popen " + cmd);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = pclose(f);
  if (st != 0) throw Error("command failed (" + std::to_string(st) + "): " + cmd + "\n" + out);
  return out;
}

ShellResult run_shell_status(const std::string& cmd) {
  char tmpl[] = "/tmp/ecsa-test-stderr-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) throw_errno("mkstemp /tmp/ecsa-test-stderr-XXXXXX");
  close(fd);
  std::string full = "(" + cmd + ") 2>" + tmpl;
  FILE* f = popen(full.c_str(), "r");
  if (!f) {
    unlink(tmpl);
    throw_errno("popen " + cmd);
  }
  ShellResult r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.out.append(buf, n);
  int st = pclose(f);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.err = fs::read_file_if_exists(tmpl).value_or("");
  unlink(tmpl);
  return r;
}

std::string oci_fixture_images() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  std::string dir;
  if (const char* f = std::getenv("ECSA_FIXTURES"); f && *f) {
    dir = std::string(f) + "/images";
  } else if (const char* b = std::getenv("ECSA_BUILD"); b && *b) {
    dir = std::string(b) + "/fixtures/images";
  } else {
    throw Error("oci fixtures: neither ECSA_FIXTURES nor ECSA_BUILD is set (run tests/run-tests.sh)");
  }
  if (!fs::exists(dir + "/.stamp")) {
    fs::mkdir_p(dir);
    std::string src = source_dir();
    run_shell(src + "/rootfs-fixtures/images/make-oci-images.py " + dir + "/layouts");
    run_shell("touch " + dir + "/.stamp");
  }
  return dir + "/layouts";
}

void make_test_certs(const std::string& dir) {
  // EC keys: fast to make.
  run_shell("cd " + dir +
            " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout ca.key -out ca.pem -days 2 -subj /CN=ecsa-test-ca"
            " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout server.key -out server.csr -subj /CN=127.0.0.1"
            " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf"
            " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
            "-out server.pem -days 2 -extfile ext.cnf");
}

TestRegistry::TestRegistry(TestRegistryOptions opts) : opts_(std::move(opts)) {
  char tmpl[] = "/tmp/ecsa-test-registry-XXXXXX";
  if (!mkdtemp(tmpl)) throw_errno("mkdtemp /tmp/ecsa-test-registry-XXXXXX");
  dir_ = tmpl;
  try {
    start();
  } catch (...) {
    stop();
    fs::remove_all(dir_);
    throw;
  }
}

TestRegistry::~TestRegistry() {
  stop();
  fs::remove_all(dir_);
}

void TestRegistry::start() {
  if (opts_.tls) make_test_certs(dir_);
  if (!opts_.user.empty())
    run_shell("htpasswd -Bbn '" + opts_.user + "' '" + opts_.password + "' > " + dir_ +
              "/htpasswd");
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = opts_.port ? opts_.port : free_port();
    std::string cfg =
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        "storage:\n  filesystem:\n    rootdirectory: " + dir_ + "/storage\n"
        "  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
    if (opts_.tls)
      cfg += "  tls:\n    certificate: " + dir_ + "/server.pem\n    key: " + dir_ + "/server.key\n";
    if (!opts_.user.empty())
      cfg += "auth:\n  htpasswd:\n    realm: ecsa-test\n    path: " + dir_ + "/htpasswd\n";
    fs::write_file_atomic(dir_ + "/config.yml", cfg);
    std::fflush(stdout);
    std::fflush(stderr);
    pid_ = fork();
    if (pid_ < 0) throw_errno("fork");
    if (pid_ == 0) {
      std::string log = dir_ + "/registry.log";
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      // Do not outlive the test process.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      execlp("docker-registry", "docker-registry", "serve", (dir_ + "/config.yml").c_str(),
             nullptr);
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      if (port_open(port_)) return;
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
  }
  std::string log = fs::read_file_if_exists(dir_ + "/registry.log").value_or("");
  throw Error("docker-registry did not start on 127.0.0.1:" + std::to_string(port_) + ": " + log);
}

void TestRegistry::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string TestRegistry::blob_path(const std::string& digest) const {
  std::string hex = digest.substr(digest.find(':') + 1);
  return dir_ + "/storage/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
         "/data";
}

void TestRegistry::push_fixtures() {
  std::string images = oci_fixture_images();
  std::string extra;
  if (!opts_.user.empty()) extra = " --dest-creds '" + opts_.user + ":" + opts_.password + "'";
  run_shell(source_dir() + "/rootfs-fixtures/images/push-oci-images.sh " + images + " " + host() +
            extra);
}

std::string TestRegistry::write_registries_conf(bool insecure) const {
  std::string path = dir_ + "/registries.json";
  std::string entry = "{";
  if (opts_.tls) entry += "\"ca_file\": \"" + ca_file() + "\"";
  if (insecure) entry += std::string(opts_.tls ? ", " : "") + "\"insecure\": true";
  entry += "}";
  fs::write_file_atomic(path, "{\"registries\": {\"" + host() + "\": " + entry + "}}\n");
  return path;
}

ScopedEnv::ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
  if (const char* v = std::getenv(name_.c_str())) {
    had_ = true;
    old_ = v;
  }
  setenv(name_.c_str(), value.c_str(), 1);
}

ScopedEnv::ScopedEnv(std::string name, std::nullptr_t) : name_(std::move(name)) {
  if (const char* v = std::getenv(name_.c_str())) {
    had_ = true;
    old_ = v;
  }
  unsetenv(name_.c_str());
}

ScopedEnv::~ScopedEnv() {
  if (had_)
    setenv(name_.c_str(), old_.c_str(), 1);
  else
    unsetenv(name_.c_str());
}

}  // namespace ecsa::test
