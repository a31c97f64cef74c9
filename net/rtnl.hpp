// The rtnetlink requests ecsa needs (links, bridge, veth, addresses, routes), over libmnl.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace ecsa::net {

class Rtnl {
 public:
  // A socket in the caller's network namespace.
  Rtnl();
  // A socket inside the network namespace of `pid`. A netlink socket stays in the namespace
  // it was created in: the calling thread enters the namespace, opens it and returns at
  // once (other threads never change namespace).
  static Rtnl in_netns_of(pid_t pid);

  Rtnl(Rtnl&& o) noexcept;
  Rtnl& operator=(Rtnl&&) = delete;
  Rtnl(const Rtnl&) = delete;
  ~Rtnl();

  struct Link {
    int index = 0;
    std::string name;
    int master = 0;
    std::string kind;  // "bridge", "veth", ... ("" when unknown)
    uint32_t group = 0;
  };

  // 0 when there is no such link.
  int link_index(const std::string& name);
  std::vector<Link> links();

  // Returns false if a link of that name already exists.
  bool create_bridge(const std::string& name);
  // A veth pair: `host_name` in this namespace, enslaved to `master_index`; the peer is
  // created directly inside the network namespace of `peer_netns_pid`, named `peer_name`.
  // The host end is up.
  void create_veth(const std::string& host_name, int master_index, const std::string& peer_name,
                   pid_t peer_netns_pid);
  void set_up(int index, const std::string& name);
  // An IPv4 address; an existing identical address is fine.
  void add_ipv4(int index, const std::string& ifname, uint32_t addr, int prefix_len);
  void add_default_route(uint32_t gateway, int oif);
  // Returns false when the link does not exist.
  bool delete_link(const std::string& name);
  // Moves a link into link group `group` (a label; cheap: no RCU wait). Returns false when
  // the link does not exist.
  bool set_group(const std::string& name, uint32_t group);
  // Deletes every link of `group` in one request: the kernel's RCU waits of unregistering
  // are paid once for all of them. Returns false when no link is in the group.
  bool delete_group(uint32_t group);

 private:
  explicit Rtnl(mnl_socket* s, std::string where);
  // Sends one request with NLM_F_ACK and waits for the answer; returns 0 or the errno.
  int request(nlmsghdr* nlh);
  [[noreturn]] void fail(const std::string& what, int err) const;

  mnl_socket* sock_ = nullptr;
  unsigned portid_ = 0;
  unsigned seq_ = 0;
  std::string where_;  // "" or " in netns of pid N", for error messages
};

}  // namespace ecsa::net
