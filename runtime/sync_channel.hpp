// The socket between `create` (parent side of clone) and the container's init (child side):
// one message per packet. The child reports its errors to the parent over it.
#pragma once
#include <cstdint>
#include <string>

#include "common/fd.hpp"

namespace ecsa::runtime {

enum class SyncMsg : uint32_t {
  go = 1,            // parent -> child: continue (payload: state JSON where useful)
  error = 2,         // child -> parent: payload is the error text; the child exits
  mounts_done = 3,   // child -> parent: namespaces and mounts exist; run prestart/createRuntime
  ready = 4,         // child -> parent: waiting on the exec fifo
};

class SyncChannel {
 public:
  // Creates the connected pair; parent() and child() give the two ends.
  static void make_pair(SyncChannel& parent, SyncChannel& child);
  void send(SyncMsg type, const std::string& payload = "") const;
  // Receives one message; throws Error when the other side hung up ("init exited").
  SyncMsg recv(std::string* payload) const;
  // Receives and checks the type; an error message from the child is rethrown as Error.
  std::string expect(SyncMsg type) const;
  void close() { fd_.reset(); }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

}  // namespace ecsa::runtime
