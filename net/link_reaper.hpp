// Deleting links off the caller's path. Unregistering a link waits for RCU grace periods
// (~20 ms here, most of a teardown); a detached process pays them instead, for every link
// of the group at once.
#pragma once
#include <cstdint>

namespace ecsa::net {

// Starts a detached process that deletes every link of `group` in the caller's network
// namespace and exits. Returns at once (after one fork); the process keeps no fd of the
// caller (no lock, no pipe). Failure to start it only logs: gc deletes the group too.
void reap_links_in_background(uint32_t group);

}  // namespace ecsa::net
