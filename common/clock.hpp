// Wall-clock timestamps as the runtime writes them (state "created", log lines).
#pragma once
#include <string>

namespace ecsa {

// Now, UTC, RFC 3339 with nanoseconds: "2026-11-25T09:16:03.442333340Z".
std::string now_rfc3339();

}  // namespace ecsa
