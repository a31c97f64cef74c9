#include "net/netns_holder.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ecsa::net {

NetnsHolder::NetnsHolder() {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) throw_errno("netns holder: pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw_errno("netns holder: fork");
  if (pid_ == 0) {
    // Only async-signal-safe calls here: the parent may have threads.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    char status = unshare(CLONE_NEWNET) == 0 ? 0 : static_cast<char>(errno);
    if (write(wr.get(), &status, 1) != 1) _exit(1);
    if (status) _exit(1);
    for (;;) pause();
  }
  wr.reset();
  char status = 0;
  ssize_t n;
  do n = read(rd.get(), &status, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || status != 0) {
    int err = n == 1 ? status : ECHILD;
    stop();
    throw_errno("netns holder: unshare(CLONE_NEWNET)", err);
  }
}

NetnsHolder::~NetnsHolder() {
  stop();
}

void NetnsHolder::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

}  // namespace ecsa::net
