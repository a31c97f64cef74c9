#include "runtime/sync_channel.hpp"

#include <sys/socket.h>

#include <cstring>
#include <vector>

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
  std::vector<char> buf(sizeof(uint32_t) + payload.size());
  uint32_t t = static_cast<uint32_t>(type);
  std::memcpy(buf.data(), &t, sizeof t);
  std::memcpy(buf.data() + sizeof t, payload.data(), payload.size());
  ssize_t n;
  do {
    n = ::send(fd_.get(), buf.data(), buf.size(), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("sync socket send");
}

SyncMsg SyncChannel::recv(std::string* payload) const {
  std::vector<char> buf(64 * 1024);
  ssize_t n;
  do {
    n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("sync socket receive");
  if (n < static_cast<ssize_t>(sizeof(uint32_t)))
    throw Error("container init exited before it was ready");
  uint32_t t;
  std::memcpy(&t, buf.data(), sizeof t);
  if (payload) payload->assign(buf.data() + sizeof t, static_cast<size_t>(n) - sizeof t);
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
