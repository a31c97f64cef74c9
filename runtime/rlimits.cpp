#include "runtime/rlimits.hpp"

#include <sys/resource.h>

#include <set>
#include <utility>

#include "common/error.hpp"

namespace ecsa::runtime {

namespace {

// The names of the OCI runtime spec (those of getrlimit(2)).
const std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

std::string limit_text(uint64_t v) {
  return v == static_cast<uint64_t>(RLIM_INFINITY) ? "unlimited" : std::to_string(v);
}

}  // namespace

int rlimit_from_name(const std::string& name) {
  for (const auto& [n, r] : kRlimits)
    if (name == n) return r;
  return -1;
}

std::vector<Rlimit> parse_rlimits(const json::Node& rlimits) {
  std::vector<Rlimit> out;
  std::set<int> seen;
  for (const auto& item : rlimits.items()) {
    auto type = item.at("type");
    Rlimit r{rlimit_from_name(type.str()), type.str(), item.at("soft").u64(),
             item.at("hard").u64()};
    if (r.resource < 0) type.fail("unknown rlimit \"" + r.name + "\"");
    if (!seen.insert(r.resource).second) type.fail("duplicate rlimit \"" + r.name + "\"");
    if (r.soft > r.hard)
      item.fail("soft limit " + limit_text(r.soft) + " is above hard limit " + limit_text(r.hard));
    out.push_back(std::move(r));
  }
  return out;
}

void apply_rlimits(const std::vector<Rlimit>& limits) {
  for (const auto& r : limits) {
    rlimit rl{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (setrlimit(static_cast<__rlimit_resource_t>(r.resource), &rl) != 0)
      throw_errno("setrlimit " + r.name + " soft=" + limit_text(r.soft) +
                  " hard=" + limit_text(r.hard));
  }
}

}  // namespace ecsa::runtime
