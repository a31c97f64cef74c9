#include "net/link_reaper.hpp"

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.hpp"
#include "common/log.hpp"

namespace ecsa::net {
namespace {

// RTM_DELLINK with index 0, no name and IFLA_GROUP: the kernel deletes the whole group.
struct DelGroupRequest {
  nlmsghdr nlh;
  ifinfomsg ifi;
  rtattr group_attr;
  uint32_t group;
};

// Runs in the detached child: raw system calls only (the parent may have threads).
[[noreturn]] void delete_group_and_exit(const DelGroupRequest& req) {
  syscall(SYS_close_range, 0U, ~0U, 0U);
  setsid();  // not killed with the caller's process group half way
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s < 0) _exit(1);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(s, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    _exit(1);
  // Wait for the answer: the deletion is done when it arrives.
  char buf[512];
  while (recv(s, buf, sizeof buf, 0) < 0 && errno == EINTR) {
  }
  _exit(0);
}

}  // namespace

void reap_links_in_background(uint32_t group) {
  DelGroupRequest req;
  std::memset(&req, 0, sizeof req);
  req.nlh.nlmsg_len = sizeof req;
  req.nlh.nlmsg_type = RTM_DELLINK;
  req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nlh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  req.group_attr.rta_len = RTA_LENGTH(sizeof(uint32_t));
  req.group_attr.rta_type = IFLA_GROUP;
  req.group = group;
  static_assert(sizeof(DelGroupRequest) == NLMSG_LENGTH(sizeof(ifinfomsg)) + RTA_LENGTH(4));

  // Double fork: the worker is adopted by init (or the caller's subreaper), so the caller
  // neither waits for it nor collects a zombie later.
  pid_t child = fork();
  if (child < 0) {
    log::warn(errno_message("net: fork link reaper", errno) + " (gc deletes the links)");
    return;
  }
  if (child == 0) {
    pid_t worker = fork();
    if (worker == 0) delete_group_and_exit(req);
    _exit(worker < 0 ? 1 : 0);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace ecsa::net
