#include "net/rtnl.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <utility>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "net/ipv4.hpp"

namespace ecsa::net {
namespace {

// Big enough for a dump batch of link messages.
constexpr size_t kBufSize = 32768;

mnl_socket* open_socket(std::string* err) {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!s) {
    *err = errno_message("open rtnetlink socket", errno);
    return nullptr;
  }
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    *err = errno_message("bind rtnetlink socket", errno);
    mnl_socket_close(s);
    return nullptr;
  }
  return s;
}

nlmsghdr* put_header(char* buf, uint16_t type, uint16_t flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  return nlh;
}

ifinfomsg* put_ifinfo(nlmsghdr* nlh) {
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  return ifi;
}

using MsgFn = std::function<void(const nlmsghdr*)>;

int dispatch(const nlmsghdr* nlh, void* data) {
  (*static_cast<MsgFn*>(data))(nlh);
  return MNL_CB_OK;
}

int collect_attr(const nlattr* attr, void* data) {
  auto* tb = static_cast<const nlattr**>(data);
  uint16_t type = mnl_attr_get_type(attr);
  if (type <= IFLA_MAX) tb[type] = attr;
  return MNL_CB_OK;
}

// Attributes of a link message that ecsa looks at.
Rtnl::Link parse_link(const nlmsghdr* nlh) {
  Rtnl::Link l;
  auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  l.index = ifi->ifi_index;
  const nlattr* tb[IFLA_MAX + 1] = {};
  mnl_attr_parse(nlh, sizeof(ifinfomsg), collect_attr, tb);
  if (tb[IFLA_IFNAME]) l.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
  if (tb[IFLA_MASTER]) l.master = static_cast<int>(mnl_attr_get_u32(tb[IFLA_MASTER]));
  if (tb[IFLA_GROUP]) l.group = mnl_attr_get_u32(tb[IFLA_GROUP]);
  if (tb[IFLA_LINKINFO]) {
    const nlattr* info[IFLA_MAX + 1] = {};
    mnl_attr_parse_nested(tb[IFLA_LINKINFO], collect_attr, info);
    if (info[IFLA_INFO_KIND]) l.kind = mnl_attr_get_str(info[IFLA_INFO_KIND]);
  }
  return l;
}

}  // namespace

Rtnl::Rtnl(mnl_socket* s, std::string where) : sock_(s), where_(std::move(where)) {
  portid_ = mnl_socket_get_portid(sock_);
}

Rtnl::Rtnl() {
  std::string err;
  sock_ = open_socket(&err);
  if (!sock_) throw Error(err);
  portid_ = mnl_socket_get_portid(sock_);
}

Rtnl Rtnl::in_netns_of(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) throw_errno("open " + path);
  UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own) throw_errno("open /proc/thread-self/ns/net");
  // setns affects only the calling thread, which enters the namespace just long enough to
  // create the socket (cheaper than a helper thread, which has to be scheduled) and comes
  // straight back; nothing else runs on it meanwhile.
  if (setns(ns.get(), CLONE_NEWNET) != 0) throw_errno("setns " + path);
  std::string err;
  mnl_socket* s = open_socket(&err);
  if (setns(own.get(), CLONE_NEWNET) != 0) {
    // Going on in the container's namespace would configure the wrong one.
    std::fprintf(stderr, "ecsa-run: cannot return to the host network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
  if (!s) throw Error(err + " (network namespace of pid " + std::to_string(pid) + ")");
  return Rtnl(s, " in network namespace of pid " + std::to_string(pid));
}

Rtnl::Rtnl(Rtnl&& o) noexcept
    : sock_(std::exchange(o.sock_, nullptr)),
      portid_(o.portid_),
      seq_(o.seq_),
      where_(std::move(o.where_)) {}

Rtnl::~Rtnl() {
  if (sock_) mnl_socket_close(sock_);
}

void Rtnl::fail(const std::string& what, int err) const {
  throw Error(errno_message(what + where_, err));
}

// Sends `nlh` with NLM_F_ACK and reads answers until the ACK, an error or the end of a dump.
static int transact(mnl_socket* sock, unsigned portid, unsigned seq, nlmsghdr* nlh,
                    const MsgFn* on_msg) {
  nlh->nlmsg_seq = seq;
  // Dumps end with NLMSG_DONE; everything else asks for an ACK. (NLM_F_DUMP shares bits
  // with NLM_F_EXCL/NLM_F_CREATE, so it only means "dump" on a GET.)
  bool dump = nlh->nlmsg_type % 4 == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!dump) nlh->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0) return errno;
  auto buf = std::make_unique<char[]>(kBufSize);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock, buf.get(), kBufSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    int r = mnl_cb_run(buf.get(), static_cast<size_t>(n), seq, portid, on_msg ? dispatch : nullptr,
                       const_cast<MsgFn*>(on_msg));
    if (r < 0) return errno;
    if (r == MNL_CB_STOP) return 0;
  }
}

int Rtnl::request(nlmsghdr* nlh) {
  return transact(sock_, portid_, ++seq_, nlh, nullptr);
}

int Rtnl::link_index(const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_GETLINK, 0);
  put_ifinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  int index = 0;
  MsgFn fn = [&](const nlmsghdr* m) {
    if (m->nlmsg_type == RTM_NEWLINK)
      index = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(m))->ifi_index;
  };
  int err = transact(sock_, portid_, ++seq_, nlh, &fn);
  if (err == ENODEV) return 0;
  if (err) fail("look up link " + name, err);
  return index;
}

std::vector<Rtnl::Link> Rtnl::links() {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_GETLINK, NLM_F_DUMP);
  put_ifinfo(nlh);
  std::vector<Link> out;
  MsgFn fn = [&](const nlmsghdr* m) {
    if (m->nlmsg_type == RTM_NEWLINK) out.push_back(parse_link(m));
  };
  int err = transact(sock_, portid_, ++seq_, nlh, &fn);
  // EINTR: links came or went during the dump (NLM_F_DUMP_INTR), e.g. a namespace's veth
  // being deleted. Dump again, on a fresh socket: the rest of the old dump may still be
  // queued on this one.
  for (int attempt = 0; err == EINTR && attempt < 10 && where_.empty(); ++attempt) {
    std::string open_err;
    mnl_socket* fresh = open_socket(&open_err);
    if (!fresh) throw Error(open_err);
    mnl_socket_close(sock_);
    sock_ = fresh;
    portid_ = mnl_socket_get_portid(sock_);
    out.clear();
    nlh = put_header(buf, RTM_GETLINK, NLM_F_DUMP);
    put_ifinfo(nlh);
    err = transact(sock_, portid_, ++seq_, nlh, &fn);
  }
  if (err) fail("list links", err);
  return out;
}

bool Rtnl::create_bridge(const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  put_ifinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  // A fixed address: otherwise the bridge takes the lowest MAC of its ports and changes it as
  // containers come and go, which leaves stale ARP entries in the containers.
  unsigned char mac[6];
  if (getrandom(mac, sizeof mac, 0) == static_cast<ssize_t>(sizeof mac)) {
    mac[0] = static_cast<unsigned char>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
    mnl_attr_put(nlh, IFLA_ADDRESS, sizeof mac, mac);
  }
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  int err = request(nlh);
  if (err == EEXIST) return false;
  if (err) fail("create bridge " + name, err);
  return true;
}

void Rtnl::create_veth(const std::string& host_name, int master_index, const std::string& peer_name,
                       pid_t peer_netns_pid) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  // The host end comes up as it is created: no further round trip to set it up.
  ifinfomsg* ifi = put_ifinfo(nlh);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name.c_str());
  if (master_index) mnl_attr_put_u32(nlh, IFLA_MASTER, static_cast<uint32_t>(master_index));
  nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  nlattr* data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  nlattr* peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  // The peer's attributes follow its own ifinfomsg header inside the nest.
  auto* pifi = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(nlh));
  // (Not the peer: the kernel would open it before the pair is linked, ENOTCONN.)
  std::memset(pifi, 0, sizeof(*pifi));
  nlh->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name.c_str());
  mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, static_cast<uint32_t>(peer_netns_pid));
  mnl_attr_nest_end(nlh, peer);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  int err = request(nlh);
  if (err)
    fail("create veth " + host_name + " (peer " + peer_name + " in network namespace of pid " +
             std::to_string(peer_netns_pid) + ")",
         err);
}

void Rtnl::set_up(int index, const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_NEWLINK, 0);
  ifinfomsg* ifi = put_ifinfo(nlh);
  ifi->ifi_index = index;
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  int err = request(nlh);
  if (err) fail("set link " + name + " up", err);
}

void Rtnl::add_ipv4(int index, const std::string& ifname, uint32_t addr, int prefix_len) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix_len);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(index);
  uint32_t net = htonl(addr);
  uint32_t mask = prefix_len == 0 ? 0 : ~uint32_t(0) << (32 - prefix_len);
  uint32_t bcast = htonl(addr | ~mask);
  mnl_attr_put_u32(nlh, IFA_LOCAL, net);
  mnl_attr_put_u32(nlh, IFA_ADDRESS, net);
  mnl_attr_put_u32(nlh, IFA_BROADCAST, bcast);
  int err = request(nlh);
  if (err == EEXIST) return;
  if (err) {
    fail("add address " + format_ipv4(addr) + "/" + std::to_string(prefix_len) + " to " + ifname,
         err);
  }
}

void Rtnl::add_default_route(uint32_t gateway, int oif) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(oif));
  int err = request(nlh);
  if (err) {
    fail("add default route via " + format_ipv4(gateway), err);
  }
}

bool Rtnl::delete_link(const std::string& name) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_DELLINK, 0);
  put_ifinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  int err = request(nlh);
  if (err == ENODEV) return false;
  if (err) fail("delete link " + name, err);
  return true;
}

bool Rtnl::set_group(const std::string& name, uint32_t group) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_NEWLINK, 0);
  put_ifinfo(nlh);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(nlh, IFLA_GROUP, group);
  int err = request(nlh);
  if (err == ENODEV) return false;
  if (err) fail("move link " + name + " to group " + std::to_string(group), err);
  return true;
}

bool Rtnl::delete_group(uint32_t group) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = put_header(buf, RTM_DELLINK, 0);
  put_ifinfo(nlh);  // index 0 and no name: the kernel deletes by group
  mnl_attr_put_u32(nlh, IFLA_GROUP, group);
  int err = request(nlh);
  if (err == ENODEV) return false;
  if (err) fail("delete links of group " + std::to_string(group), err);
  return true;
}

}  // namespace ecsa::net
