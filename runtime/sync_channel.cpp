#include "runtime/sync_channel.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>
#include <memory>

#include "common/error.hpp"

namespace ecsa::runtime {

void SyncChannel::make_pair(SyncChannel& parent, SyncChannel& child) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    throw_errno("create sync socket");
  parent.fd_.reset(sv[0]);
  child.fd_.reset(sv[1]);
}

void SyncChannel::send(SyncMsg type, const std::string& payload) const {
  uint32_t t = static_cast<uint32_t>(type);
  iovec iov[2] = {{&t, sizeof t}, {const_cast<char*>(payload.data()), payload.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload.empty() ? 1 : 2;
  ssize_t n;
  do {
    n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("sync socket send");
}

SyncMsg SyncChannel::recv(std::string* payload) const {
  // Left uninitialised: zeroing 64 KiB would touch 16 pages on every start for messages of a
  // few bytes; recv writes only what arrives.
  constexpr size_t kMax = 64 * 1024;
  std::unique_ptr<char[]> buf(new char[kMax]);
  ssize_t n;
  bool reset_seen = false;
  for (;;) {
    n = ::recv(fd_.get(), buf.get(), kMax, 0);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    // The init exited without reading what we sent (it failed before our `go`): the kernel
    // reports that once, ahead of the packets still queued, such as the init's error.
    if (errno == ECONNRESET && !reset_seen) {
      reset_seen = true;
      continue;
    }
    throw_errno("sync socket receive");
  }
  if (n < static_cast<ssize_t>(sizeof(uint32_t)))
    throw Error("container init exited before it was ready");
  uint32_t t;
  std::memcpy(&t, buf.get(), sizeof t);
  if (payload) payload->assign(buf.get() + sizeof t, static_cast<size_t>(n) - sizeof t);
  return static_cast<SyncMsg>(t);
}

std::string SyncChannel::expect(SyncMsg type) const {
  std::string payload;
  SyncMsg got = recv(&payload);
  if (got == SyncMsg::error) throw Error(payload);
  if (got != type) throw Error("sync socket: unexpected message " + std::to_string(uint32_t(got)));
  return payload;
}

}  // namespace ecsa::runtime
