#include "net/conntrack.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/log.hpp"

namespace ecsa::net {
namespace {

constexpr size_t kBufSize = 32768;

struct Entry {
  std::string orig_tuple;  // payload of CTA_TUPLE_ORIG, sent back verbatim to delete it
  bool has_zone = false;
  uint16_t zone = 0;  // network order
};

struct DumpCtx {
  const std::set<uint16_t>* ports;
  std::vector<Entry> found;
};

int collect(const nlattr* attr, void* data) {
  auto* tb = static_cast<const nlattr**>(data);
  uint16_t type = mnl_attr_get_type(attr);
  if (type < 32) tb[type] = attr;
  return MNL_CB_OK;
}

int on_entry(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<DumpCtx*>(data);
  const nlattr* tb[32] = {};
  mnl_attr_parse(nlh, sizeof(nfgenmsg), collect, tb);
  if (!tb[CTA_TUPLE_ORIG]) return MNL_CB_OK;
  const nlattr* tuple[32] = {};
  mnl_attr_parse_nested(tb[CTA_TUPLE_ORIG], collect, tuple);
  if (!tuple[CTA_TUPLE_PROTO]) return MNL_CB_OK;
  const nlattr* proto[32] = {};
  mnl_attr_parse_nested(tuple[CTA_TUPLE_PROTO], collect, proto);
  if (!proto[CTA_PROTO_NUM] || !proto[CTA_PROTO_DST_PORT]) return MNL_CB_OK;
  if (mnl_attr_get_u8(proto[CTA_PROTO_NUM]) != IPPROTO_UDP) return MNL_CB_OK;
  uint16_t port = ntohs(mnl_attr_get_u16(proto[CTA_PROTO_DST_PORT]));
  if (!ctx->ports->count(port)) return MNL_CB_OK;
  Entry e;
  e.orig_tuple.assign(static_cast<const char*>(mnl_attr_get_payload(tb[CTA_TUPLE_ORIG])),
                      mnl_attr_get_payload_len(tb[CTA_TUPLE_ORIG]));
  if (tb[CTA_ZONE]) {
    e.has_zone = true;
    e.zone = mnl_attr_get_u16(tb[CTA_ZONE]);
  }
  ctx->found.push_back(std::move(e));
  return MNL_CB_OK;
}

nlmsghdr* put_ct_header(char* buf, uint8_t msg, uint16_t flags) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_INET;
  nfg->version = NFNETLINK_V0;
  return nlh;
}

// Reads answers to request `seq` until done; returns 0 or the errno.
int run(mnl_socket* s, unsigned seq, mnl_cb_t cb, void* data) {
  auto buf = std::make_unique<char[]>(kBufSize);
  unsigned portid = mnl_socket_get_portid(s);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(s, buf.get(), kBufSize);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    int r = mnl_cb_run(buf.get(), static_cast<size_t>(n), seq, portid, cb, data);
    if (r < 0) return errno;
    if (r == MNL_CB_STOP) return 0;
  }
}

}  // namespace

int forget_udp_flows(const std::set<uint16_t>& ports) {
  if (ports.empty()) return 0;
  mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (!s) {
    log::debug(errno_message("conntrack: open netfilter netlink socket", errno));
    return 0;
  }
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> guard(s, mnl_socket_close);
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0)
    throw_errno("conntrack: bind netfilter netlink socket");

  char buf[MNL_SOCKET_BUFFER_SIZE];
  unsigned seq = 1;
  nlmsghdr* nlh = put_ct_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP);
  nlh->nlmsg_seq = seq;
  if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) throw_errno("conntrack: request dump");
  DumpCtx ctx{&ports, {}};
  if (int err = run(s, seq, on_entry, &ctx)) {
    // No ctnetlink in this kernel: there is nothing we could forget anyway.
    if (err == EOPNOTSUPP || err == ENOENT || err == EPROTONOSUPPORT) return 0;
    throw Error(errno_message("conntrack: dump", err));
  }
  int deleted = 0;
  for (const auto& e : ctx.found) {
    nlh = put_ct_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK);
    nlh->nlmsg_seq = ++seq;
    mnl_attr_put(nlh, CTA_TUPLE_ORIG | NLA_F_NESTED, e.orig_tuple.size(), e.orig_tuple.data());
    if (e.has_zone) mnl_attr_put_u16(nlh, CTA_ZONE, e.zone);
    if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) throw_errno("conntrack: delete entry");
    int err = run(s, seq, nullptr, nullptr);
    if (err == 0)
      ++deleted;
    else if (err != ENOENT)
      throw Error(errno_message("conntrack: delete entry", err));
  }
  return deleted;
}

}  // namespace ecsa::net
