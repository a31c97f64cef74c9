#include "runtime/capabilities.hpp"

#include <strings.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace ecsa::runtime {

namespace {

using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, int (*)(void*)>;

CapPtr owned(cap_t c) {
  return CapPtr(c, cap_free);
}

// Number libcap gives the name, or -1. Numeric names ("12") are not capability names.
int libcap_value(const std::string& name) {
  if (name.size() <= 4 || strncasecmp(name.c_str(), "CAP_", 4) != 0) return -1;
  cap_value_t v;
  if (cap_from_name(name.c_str(), &v) != 0) return -1;
  return v;
}

bool contains(const std::vector<int>& set, int cap) {
  return std::binary_search(set.begin(), set.end(), cap);
}

std::vector<int> parse_set(const json::Node& caps, const char* key) {
  std::vector<int> out;
  auto node = caps.opt(key);
  if (!node) return out;
  for (const auto& item : node->items()) {
    std::string name = item.str();
    int v = libcap_value(name);
    if (v < 0) item.fail("unknown capability \"" + name + "\"");
    if (v > last_capability()) {
      log::warn(item.path() + ": capability " + name +
                " is unknown to the running kernel, ignored");
      continue;
    }
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string names_of(const std::vector<int>& caps) {
  std::string s;
  for (int c : caps) s += (s.empty() ? "" : " ") + capability_name(c);
  return s;
}

}  // namespace

int last_capability() {
  static const int last = [] {
    try {
      return std::stoi(fs::read_file("/proc/sys/kernel/cap_last_cap"));
    } catch (const std::exception&) {
      return static_cast<int>(CAP_LAST_CAP);  // no /proc: what these headers know
    }
  }();
  return last;
}

int capability_from_name(const std::string& name) {
  int v = libcap_value(name);
  return v > last_capability() ? -1 : v;
}

std::string capability_name(int cap) {
  char* n = cap_to_name(cap);
  if (!n) return "capability " + std::to_string(cap);
  std::string s(n);
  cap_free(n);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::vector<std::string> known_capabilities() {
  std::vector<std::string> out;
  for (int c = 0; c <= last_capability(); ++c) {
    std::string n = capability_name(c);
    if (n.rfind("CAP_", 0) == 0) out.push_back(n);  // libcap prints unknown ones as numbers
  }
  return out;
}

CapabilitySets parse_capabilities(const json::Node& caps) {
  CapabilitySets s;
  s.bounding = parse_set(caps, "bounding");
  s.effective = parse_set(caps, "effective");
  s.inheritable = parse_set(caps, "inheritable");
  s.permitted = parse_set(caps, "permitted");
  s.ambient = parse_set(caps, "ambient");
  return s;
}

void apply_capabilities(const CapabilitySets& want) {
  const int last = last_capability();

  // What this process may still hand out: a capability outside its bounding set can never
  // come back, so asking for it is trimmed rather than failed (runc and Docker do the same).
  std::vector<int> own_bounding, left_out;
  for (int c = 0; c <= last; ++c)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) own_bounding.push_back(c);
  auto trim = [&](const std::vector<int>& set) {
    std::vector<int> out;
    for (int c : set) (contains(own_bounding, c) ? out : left_out).push_back(c);
    return out;
  };
  CapabilitySets s{trim(want.bounding), trim(want.effective), trim(want.inheritable),
                   trim(want.permitted), trim(want.ambient)};
  if (!left_out.empty()) {
    std::sort(left_out.begin(), left_out.end());
    left_out.erase(std::unique(left_out.begin(), left_out.end()), left_out.end());
    log::debug("capabilities not in the runtime's bounding set, left out: " + names_of(left_out));
  }

  // After setuid the effective set is empty; CAP_SETPCAP must be effective to shrink the
  // bounding set, so first make every permitted capability effective.
  {
    auto cur = owned(cap_get_proc());
    if (!cur) throw_errno("read process capabilities");
    for (int c = 0; c <= last; ++c) {
      cap_flag_value_t v = CAP_CLEAR;
      cap_value_t cv = c;
      if (cap_get_flag(cur.get(), cv, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
        cap_set_flag(cur.get(), CAP_EFFECTIVE, 1, &cv, CAP_SET);
    }
    cap_set_proc(cur.get());  // if this fails, the drop below reports the missing CAP_SETPCAP
  }

  for (int c : own_bounding) {
    if (contains(s.bounding, c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
      throw_errno("drop " + capability_name(c) + " from the bounding set");
  }

  auto caps = owned(cap_init());
  if (!caps) throw_errno("allocate capability state");
  auto set_flags = [&](const std::vector<int>& set, cap_flag_t flag) {
    for (int c : set) {
      cap_value_t cv = c;
      cap_set_flag(caps.get(), flag, 1, &cv, CAP_SET);
    }
  };
  set_flags(s.effective, CAP_EFFECTIVE);
  set_flags(s.permitted, CAP_PERMITTED);
  set_flags(s.inheritable, CAP_INHERITABLE);
  if (cap_set_proc(caps.get()) != 0) {
    int err = errno;
    // Name what the kernel refused: capabilities asked for but not held.
    std::vector<int> missing;
    auto cur = owned(cap_get_proc());
    for (int c : s.permitted) {
      cap_flag_value_t v = CAP_CLEAR;
      if (cur && cap_get_flag(cur.get(), c, CAP_PERMITTED, &v) == 0 && v != CAP_SET)
        missing.push_back(c);
    }
    for (int c : s.effective)
      if (!contains(s.permitted, c) && !contains(missing, c)) missing.push_back(c);
    std::sort(missing.begin(), missing.end());
    std::string which = missing.empty() ? "" : " (not permitted: " + names_of(missing) + ")";
    throw_errno("set effective/permitted/inheritable capabilities" + which, err);
  }

  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && !s.ambient.empty())
    throw_errno("clear the ambient capabilities");
  for (int c : s.ambient) {
    // As runc: an ambient capability that is not also permitted and inheritable cannot be
    // raised; `runc spec` configs list ambient without inheritable, so this is not an error.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
      log::debug(errno_message("raise ambient capability " + capability_name(c), errno));
  }
}

}  // namespace ecsa::runtime
