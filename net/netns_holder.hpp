// A child process that only holds a fresh network namespace: for `ecsa-run net bench`,
// debugging, and tests that need a "container" namespace without a container.
#pragma once
#include <sys/types.h>

namespace ecsa::net {

class NetnsHolder {
 public:
  // Forks a child that unshares its network namespace and sleeps until killed (also when
  // this process dies). Returns once the namespace exists.
  NetnsHolder();
  ~NetnsHolder();
  NetnsHolder(const NetnsHolder&) = delete;
  NetnsHolder& operator=(const NetnsHolder&) = delete;

  pid_t pid() const { return pid_; }
  // Kills and reaps the child now (its namespace, and the veth ends in it, go away).
  void stop();

 private:
  pid_t pid_ = -1;
};

}  // namespace ecsa::net
