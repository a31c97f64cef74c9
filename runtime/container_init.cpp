// PID 1 of a container with "ecsa.init": "true": a fork of the container's init right before
// it execs the user's process. It keeps nothing it does not need: no descriptor but stdio, no
// free heap, and not the runtime's host command line (readable by everyone in /proc/1/cmdline).
#include "runtime/container_init.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ecsa::runtime {

namespace {

constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

// Replaces the runtime's argv (host paths, container id) and environment in our memory, which
// /proc/1/cmdline and /proc/1/environ show, by "ecsa-init". Fields 48-51 of /proc/self/stat
// are arg_start, arg_end, env_start, env_end. Best effort: nothing depends on it.
void hide_host_command_line() {
  char buf[2048];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = '\0';
  char* p = strrchr(buf, ')');
  if (!p) return;
  unsigned long v[52] = {};
  int field = 2;
  for (char* tok = strtok(p + 1, " "); tok && field < 51; tok = strtok(nullptr, " ")) {
    ++field;
    v[field] = strtoul(tok, nullptr, 10);
  }
  if (field < 51) return;
  unsigned long arg_start = v[48], arg_end = v[49], env_start = v[50], env_end = v[51];
  static const char kName[] = "ecsa-init";
  if (arg_end > arg_start + sizeof kName) {
    char* args = reinterpret_cast<char*>(arg_start);
    memset(args, 0, arg_end - arg_start);
    memcpy(args, kName, sizeof kName);
    // A non-NUL last byte makes the kernel read the title up to its first NUL (setproctitle).
    args[arg_end - arg_start - 1] = ' ';
  }
  if (env_end > env_start) memset(reinterpret_cast<char*>(env_start), 0, env_end - env_start);
}

}  // namespace

bool init_requested(const std::map<std::string, std::string>& annotations) {
  auto it = annotations.find(kInitAnnotation);
  return it != annotations.end() && it->second == "true";
}

sigset_t init_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwarded) sigaddset(&set, sig);
  sigaddset(&set, SIGCHLD);
  return set;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void split_off_init() {
  // Blocked before the fork: a signal that arrives before the loop waits stays pending.
  sigset_t set = init_signals(), old;
  sigprocmask(SIG_BLOCK, &set, &old);
  pid_t child = fork();
  if (child < 0) {
    dprintf(2, "ecsa-run: init: fork the container process: %s\n", strerror(errno));
    _exit(1);
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    return;
  }
  // The exec fifo, preserved fds and the rest belong to the child (which has its copies); the
  // exec fifo closes for `start` once the child has executed.
  syscall(SYS_close_range, 3U, ~0U, 0U);
  // Orphans come to us even without a PID namespace of our own.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  prctl(PR_SET_NAME, "ecsa-init", 0, 0, 0);
  hide_host_command_line();
  malloc_trim(0);
  reap_and_forward(child);
}

void reap_and_forward(pid_t child) {
  const sigset_t set = init_signals();
  for (;;) {
    for (;;) {
      int status = 0;
      pid_t p = waitpid(-1, &status, WNOHANG);
      if (p < 0 && errno == EINTR) continue;
      if (p <= 0) break;  // 0: the others still run; ECHILD: nobody left
      // The other processes of the namespace die with us, as under tini.
      if (p == child) _exit(exit_code_of(status));
    }
    siginfo_t info;
    int sig = sigwaitinfo(&set, &info);
    if (sig > 0 && sig != SIGCHLD) kill(child, sig);
  }
}

}  // namespace ecsa::runtime
