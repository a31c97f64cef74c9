#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace ecsa::runtime {

namespace {

std::vector<char*> cstrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void run_hook(const char* kind, const oci::Hook& h, const std::string& state_json) {
  std::string what = std::string(kind) + " hook " + h.path;
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw_errno(what + ": pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
  std::vector<std::string> env = h.env;
  auto argv = cstrings(args);
  auto envp = cstrings(env);
  pid_t pid = fork();
  if (pid < 0) throw_errno(what + ": fork");
  if (pid == 0) {
    dup2(rd.get(), 0);
    execve(h.path.c_str(), argv.data(), envp.data());
    dprintf(2, "ecsa-run: exec %s: %s\n", h.path.c_str(), strerror(errno));
    _exit(127);
  }
  rd.reset();
  // The hook may not read its stdin at all: ignore EPIPE.
  signal(SIGPIPE, SIG_IGN);
  const char* data = state_json.data();
  size_t left = state_json.size();
  while (left > 0) {
    ssize_t n = write(wr.get(), data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  wr.reset();
  int status = 0;
  int64_t deadline = h.timeout ? now_ms() + int64_t(*h.timeout) * 1000 : -1;
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) throw_errno(what + ": waitpid");
    if (deadline >= 0 && now_ms() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      throw Error(what + ": timed out after " + std::to_string(*h.timeout) + "s");
    }
    if (pidfd) {
      pollfd pfd{pidfd.get(), POLLIN, 0};
      int wait_ms = deadline >= 0 ? static_cast<int>(std::max<int64_t>(deadline - now_ms(), 0)) : -1;
      poll(&pfd, 1, wait_ms);
    } else {
      usleep(2000);
    }
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw Error(what + ": exit status " + std::to_string(WEXITSTATUS(status)));
  if (WIFSIGNALED(status))
    throw Error(what + ": killed by signal " + std::to_string(WTERMSIG(status)));
}

}  // namespace

void run_hooks(const char* kind, const std::vector<oci::Hook>& hooks, const std::string& state_json) {
  // The spec: a failing poststart or poststop hook is a warning, and the remaining hooks and
  // the lifecycle go on as if it had succeeded.
  const std::string k = kind;
  const bool warn_only = k == "poststart" || k == "poststop";
  for (const auto& h : hooks) {
    if (!warn_only) {
      run_hook(kind, h, state_json);
      continue;
    }
    try {
      run_hook(kind, h, state_json);
    } catch (const std::exception& e) {
      log::warn(e.what());
    }
  }
}

json::Json hooks_to_json(const std::vector<oci::Hook>& hooks) {
  json::Json out = json::Json::array();
  for (const auto& h : hooks) {
    json::Json j = {{"path", h.path}, {"args", h.args}, {"env", h.env}};
    if (h.timeout) j["timeout"] = *h.timeout;
    out.push_back(j);
  }
  return out;
}

std::vector<oci::Hook> hooks_from_json(const json::Json& j) {
  std::vector<oci::Hook> out;
  for (const auto& e : j) {
    oci::Hook h;
    h.path = e.value("path", "");
    h.args = e.value("args", std::vector<std::string>{});
    h.env = e.value("env", std::vector<std::string>{});
    if (e.contains("timeout")) h.timeout = e["timeout"].get<int>();
    out.push_back(h);
  }
  return out;
}

}  // namespace ecsa::runtime
