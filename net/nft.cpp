#include "net/nft.hpp"

#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::net {
namespace {
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::set<int> open_fds() {
  std::set<int> fds;
  for (const auto& name : fs::list_dir("/proc/self/fd")) fds.insert(std::atoi(name.c_str()));
  return fds;
}

bool is_netfilter_socket(int fd) {
  int domain = 0, proto = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_NETLINK)
    return false;
  len = sizeof proto;
  return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == NETLINK_NETFILTER;
}

// libnftables opens its netlink socket without O_CLOEXEC; a context that lives as long as
// the process must not leak it into hooks or containers started later.
void cloexec_new_netfilter_sockets(const std::set<int>& before) {
  for (int fd : open_fds()) {
    if (before.count(fd) || !is_netfilter_socket(fd)) continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

// ---- leaving without waiting for the kernel ----
// The last close of a netfilter socket waits until the transactions of recent commits are
// released (the kernel frees them after an RCU grace period, ~10 ms here). A process that
// exits right after a commit (`ecsa-run rm`, `create`) would wait for that in its exit.
// Instead, at exit, a short-lived child keeps copies of the sockets a little longer: the
// parent's close is not the last one, and the child's comes when nothing is pending.

std::atomic<int64_t> last_commit_ms{0};

int64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void linger_at_exit() {
  if (now_ms() - last_commit_ms.load() > 1000) return;  // released long ago
  std::vector<int> keep;
  for (int fd : open_fds())
    if (is_netfilter_socket(fd)) keep.push_back(fd);
  if (keep.empty()) return;
  if (fork() != 0) return;  // the parent (or a failed fork) exits as it was going to
  // Child: raw system calls only. Keeps nothing but the sockets: no pipe or lock of the
  // parent's stays open behind it.
  unsigned next = 0;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > next)
      syscall(SYS_close_range, next, static_cast<unsigned>(fd) - 1, 0U);
    next = static_cast<unsigned>(fd) + 1;
  }
  syscall(SYS_close_range, next, ~0U, 0U);
  setsid();
  timespec pause{0, 200 * 1000 * 1000};
  nanosleep(&pause, nullptr);
  _exit(0);
}

void note_commit() {
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit(linger_at_exit); });
  last_commit_ms.store(now_ms());
}

}  // namespace

Nft& Nft::shared() {
  static Nft* ctx = [] {
    auto before = open_fds();
    auto* n = new Nft();
    cloexec_new_netfilter_sockets(before);
    return n;
  }();
  return *ctx;
}

Nft::Nft() {
  ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx_) throw Error("nftables: cannot create a libnftables context");
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

Nft::~Nft() {
  nft_ctx_free(ctx_);
}

bool Nft::try_apply(const std::string& script, std::string* err) {
  nft_ctx_output_set_flags(ctx_, 0);
  int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
  // Reading the buffers also resets them for the next command.
  std::string e = trim(nft_ctx_get_error_buffer(ctx_));
  nft_ctx_get_output_buffer(ctx_);
  if (rc == 0) {
    note_commit();
    return true;
  }
  if (err) *err = e.empty() ? "nftables command failed" : e;
  return false;
}

void Nft::apply(const std::string& script, const std::string& what) {
  std::string err;
  if (!try_apply(script, &err)) throw Error(what + ": " + err);
}

std::string Nft::list_json(const std::string& command) {
  nft_ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON);
  int rc = nft_run_cmd_from_buffer(ctx_, command.c_str());
  std::string out = nft_ctx_get_output_buffer(ctx_);
  nft_ctx_get_error_buffer(ctx_);
  nft_ctx_output_set_flags(ctx_, 0);
  return rc == 0 ? out : std::string();
}

bool nft_ip_chain_exists(const std::string& table, const std::string& chain) {
  std::string what = "nftables: look up chain ip " + table + " " + chain;
  // Kept open for the process's lifetime, as the shared context: closing a netfilter
  // socket waits for the release of the last commit's transaction (an RCU grace period).
  // Callers hold the network state lock.
  static mnl_socket* sock = nullptr;
  if (!sock) {
    mnl_socket* s = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
    if (!s) throw_errno(what + ": open netlink socket");
    if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
      int err = errno;
      mnl_socket_close(s);
      throw_errno(what + ": bind", err);
    }
    sock = s;
  }
  static unsigned seq = 0;
  ++seq;
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = NFPROTO_IPV4;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  mnl_attr_put_strz(nlh, NFTA_CHAIN_TABLE, table.c_str());
  mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, chain.c_str());
  if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0) throw_errno(what + ": send");
  // The chain (if any), then the ACK or the error; answers to an earlier request that
  // failed half way carry another sequence number and are skipped.
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(sock, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno(what + ": receive");
    }
    int len = static_cast<int>(n);
    for (auto* m = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(m, len); m = NLMSG_NEXT(m, len)) {
      if (m->nlmsg_seq != seq || m->nlmsg_type != NLMSG_ERROR) continue;
      int err = -static_cast<const nlmsgerr*>(NLMSG_DATA(m))->error;
      if (err == 0) return true;
      if (err == ENOENT) return false;
      throw_errno(what, err);
    }
  }
}

}  // namespace ecsa::net
