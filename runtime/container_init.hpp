// The minimal init of a container (annotation "ecsa.init": "true"; ECS
// linuxParameters.initProcessEnabled, docker --init): PID 1 stays ecsa-run's own code and the
// user's process runs as its child, so orphans are reaped and signals reach the process even
// when it installs no handlers (a PID 1 ignores unhandled signals).
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <map>
#include <string>

namespace ecsa::runtime {

inline constexpr const char* kInitAnnotation = "ecsa.init";

// True when the config's annotations ask for the init ("ecsa.init": "true").
bool init_requested(const std::map<std::string, std::string>& annotations);

// Called by the container's init right before it execs the user's process, after every other
// step (namespaces, mounts, user, capabilities, seccomp). Forks: returns in the child, which
// then execs the user's process, with the signal mask it had. The parent never returns: it
// becomes the reaper (below) holding no descriptor but stdio.
void split_off_init();

// The signals the init forwards (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
// SIGWINCH) plus SIGCHLD.
sigset_t init_signals();

// The reaper loop: `child` is our child and init_signals() are blocked. Reaps every child that
// exits, forwards the forwarded signals to `child` and exits with its status once it exited
// (128+signal when killed, as tini).
[[noreturn]] void reap_and_forward(pid_t child);

// waitpid status -> exit code: the exit status, or 128+signal.
int exit_code_of(int wait_status);

}  // namespace ecsa::runtime
