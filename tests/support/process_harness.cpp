#include "tests/support/process_harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::test {

CmdResult run_cmd(const std::vector<std::string>& argv, const std::string& input) {
  // Output goes to files, not pipes: a detached container keeps the stdio it inherited, and
  // a pipe would then never reach end-of-file.
  char out_path[] = "/tmp/ecsa-cmd-out-XXXXXX";
  char err_path[] = "/tmp/ecsa-cmd-err-XXXXXX";
  int out = mkstemp(out_path), err = mkstemp(err_path);
  if (out < 0 || err < 0) throw_errno("mkstemp");
  int in[2];
  if (pipe2(in, O_CLOEXEC)) throw_errno("pipe");
  pid_t pid = fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    dprintf(2, "exec %s: %s\n", a[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out);
  close(err);
  if (!input.empty()) {
    ssize_t w = write(in[1], input.data(), input.size());
    (void)w;
  }
  close(in[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CmdResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = fs::read_file(out_path);
  r.err = fs::read_file(err_path);
  unlink(out_path);
  unlink(err_path);
  return r;
}

std::string ecsa_run() {
  const char* p = getenv("ECSA_RUN");
  return p ? p : "build/ecsa-run";
}

std::string fixtures_dir() {
  const char* p = getenv("ECSA_FIXTURES");
  return p ? p : "build/fixtures";
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw_errno("mkdtemp " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  try {
    fs::remove_all(path_);
  } catch (...) {
  }
}

std::string http_get_local(int port, const std::string& path, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string resp;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof buf, 0)) > 0) resp.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  auto body = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.find(" 200 ") == std::string::npos ||
      body == std::string::npos)
    return "";
  return resp.substr(body + 4);
}

std::string unique_id(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(n++);
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find('\n', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

IsolatedEcsa::IsolatedEcsa(const std::string& tmp_prefix, const std::string& bridge_prefix,
                           int subnet_octet)
    : dir(tmp_prefix),
      state(dir.path() + "/state"),
      root(dir.path() + "/run"),
      bridge(bridge_prefix + std::to_string(getpid() % 100000)),
      subnet("10." + std::to_string(subnet_octet) + "." + std::to_string(getpid() % 250) +
             ".0/24") {}

IsolatedEcsa::~IsolatedEcsa() {
  ecsa({"net", "reset"});
}

CmdResult IsolatedEcsa::ecsa(std::vector<std::string> args) const {
  std::vector<std::string> argv = {"/usr/bin/env", "ECSA_STATE_DIR=" + state,
                                   "ECSA_BRIDGE=" + bridge, "ECSA_SUBNET=" + subnet, ecsa_run()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv);
}

Bundle::Bundle() : tmp_("ecsa-bundle"), id_(unique_id("t")) {
  std::string fx = fixtures_dir() + "/busybox";
  config = json::parse(fs::read_file(fx + "/config.json"), fx + "/config.json");
  char* real = realpath((fx + "/rootfs").c_str(), nullptr);
  if (!real) throw_errno("fixture rootfs " + fx + "/rootfs");
  config["root"] = {{"path", real}, {"readonly", true}};
  free(real);
  config["process"]["terminal"] = false;
  fs::mkdir_p(dir());
  fs::mkdir_p(scratch());
}

void Bundle::set_args(const std::vector<std::string>& args) {
  config["process"]["args"] = args;
}

void Bundle::write() const {
  fs::write_file_atomic(dir() + "/config.json", config.dump(2));
}

CmdResult Bundle::oci(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv = {ecsa_run(), "oci", "--root", state_root()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, input);
}

CmdResult Bundle::run() const {
  write();
  return oci({"run", "--bundle", dir(), id_});
}

}  // namespace ecsa::test
