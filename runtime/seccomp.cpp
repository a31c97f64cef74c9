#include "runtime/seccomp.hpp"

#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>
#include <set>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace ecsa::runtime {

namespace {

// libseccomp refuses SCMP_ACT_ERRNO values from its MAX_ERRNO (4095) up.
constexpr int64_t kMaxErrno = 4094;
// SECCOMP_RET_DATA is 16 bits: the most a trace message can carry.
constexpr int64_t kMaxTraceMsg = 0xffff;

enum class Ret { none, errno_value, trace_value };
struct ActionName {
  const char* name;
  uint32_t action;
  Ret ret;
};
const ActionName kActions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL_THREAD, Ret::none},  // the OCI name of the thread kill
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, Ret::none},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, Ret::none},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, Ret::none},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), Ret::errno_value},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), Ret::trace_value},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, Ret::none},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, Ret::none},
};

const std::pair<const char*, scmp_compare> kOperators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

const std::pair<const char*, unsigned> kFlags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
};

// OCI architecture names; each is SCMP_ARCH_ + the upper-cased libseccomp name.
const char* const kArchs[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

// libseccomp token of an OCI architecture name; 0 if this libseccomp does not know it.
uint32_t arch_token(const std::string& name) {
  const std::string prefix = "SCMP_ARCH_";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return 0;
  std::string lower;
  for (unsigned char c : name.substr(prefix.size())) {
    if (std::islower(c)) return 0;
    lower += static_cast<char>(std::tolower(c));
  }
  return seccomp_arch_resolve_name(lower.c_str());
}

uint32_t parse_action(const json::Node& action, const std::optional<json::Node>& ret) {
  std::string name = action.str();
  if (name == "SCMP_ACT_NOTIFY") action.fail("SCMP_ACT_NOTIFY is not supported");
  for (const auto& a : kActions) {
    if (name != a.name) continue;
    if (a.ret == Ret::none) {
      // runc ignores a return value on other actions; so do we, for the same profiles.
      return a.action;
    }
    int64_t max = a.ret == Ret::errno_value ? kMaxErrno : kMaxTraceMsg;
    auto value = static_cast<uint32_t>(ret ? ret->int_in(0, max) : EPERM);
    return a.ret == Ret::errno_value ? SCMP_ACT_ERRNO(value) : SCMP_ACT_TRACE(value);
  }
  action.fail("unknown seccomp action \"" + name + "\"");
}

SeccompArg parse_arg(const json::Node& n) {
  SeccompArg a{};
  a.index = static_cast<unsigned>(n.at("index").int_in(0, 5));
  a.value = n.at("value").u64();
  if (auto two = n.opt("valueTwo")) a.value_two = two->u64();
  auto op = n.at("op");
  std::string name = op.str();
  auto it = std::find_if(std::begin(kOperators), std::end(kOperators),
                         [&](const auto& o) { return name == o.first; });
  if (it == std::end(kOperators)) op.fail("unknown seccomp operator \"" + name + "\"");
  a.op = it->second;
  return a;
}

scmp_arg_cmp to_cmp(const SeccompArg& a) {
  // For MASKED_EQ libseccomp takes the mask first, as OCI's value/valueTwo order does.
  return scmp_arg_cmp{a.index, a.op, a.value, a.value_two};
}

std::string action_text(uint32_t action) {
  for (const auto& a : kActions) {
    if (a.ret == Ret::none && a.action == action) return a.name;
    if (a.ret != Ret::none && (action & 0xffff0000U) == a.action)
      return std::string(a.name) + "(" + std::to_string(action & 0xffff) + ")";
  }
  return "action " + std::to_string(action);
}

// Owns a libseccomp context for the time the program is built.
struct Ctx {
  scmp_filter_ctx c;
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};

void check(int rc, const std::string& what) {
  if (rc < 0) throw_errno(what, -rc);
}

}  // namespace

SeccompProfile parse_seccomp(const json::Node& n) {
  if (auto lp = n.opt("listenerPath")) lp->fail("seccomp notify listeners are not supported");
  SeccompProfile p;
  p.default_action = parse_action(n.at("defaultAction"), n.opt("defaultErrnoRet"));

  if (auto archs = n.opt("architectures")) {
    for (const auto& item : archs->items()) {
      uint32_t token = arch_token(item.str());
      if (token == 0) item.fail("unknown architecture \"" + item.str() + "\"");
      if (std::find(p.architectures.begin(), p.architectures.end(), token) == p.architectures.end())
        p.architectures.push_back(token);
    }
  }

  if (auto flags = n.opt("flags")) {
    for (const auto& item : flags->items()) {
      std::string name = item.str();
      auto it = std::find_if(std::begin(kFlags), std::end(kFlags),
                             [&](const auto& f) { return name == f.first; });
      if (it == std::end(kFlags)) item.fail("unknown seccomp flag \"" + name + "\"");
      p.flags |= it->second;
    }
  }

  if (auto calls = n.opt("syscalls")) {
    for (const auto& item : calls->items()) {
      SeccompRule r;
      auto names = item.at("names");
      r.names = names.strings();
      if (r.names.empty()) names.fail("expected at least one syscall name");
      r.action = parse_action(item.at("action"), item.opt("errnoRet"));
      if (auto args = item.opt("args"))
        for (const auto& a : args->items()) r.args.push_back(parse_arg(a));
      p.syscalls.push_back(std::move(r));
    }
  }
  return p;
}

SeccompFilter::SeccompFilter(const SeccompProfile& p) : flags_(p.flags) {
  Ctx ctx{seccomp_init(p.default_action)};
  if (!ctx.c)
    throw Error("seccomp: libseccomp refused the default action " + action_text(p.default_action));
  for (uint32_t arch : p.architectures) {
    int rc = seccomp_arch_add(ctx.c, arch);
    if (rc != -EEXIST) check(rc, "seccomp: add architecture " + std::to_string(arch));
  }

  for (size_t i = 0; i < p.syscalls.size(); ++i) {
    const auto& r = p.syscalls[i];
    std::string where = "seccomp: syscalls[" + std::to_string(i) + "]";
    // The kernel would do the same; libseccomp refuses such rules with EACCES.
    if (r.action == p.default_action) {
      log::debug(where + ": action is the default action, skipped");
      continue;
    }
    std::vector<scmp_arg_cmp> conds;
    std::set<unsigned> indexes;
    bool repeated = false;
    for (const auto& a : r.args) {
      conds.push_back(to_cmp(a));
      repeated |= !indexes.insert(a.index).second;
    }
    for (const auto& name : r.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        // Profiles list syscalls of newer kernels and other libcs; runc skips them too.
        log::debug(where + ": unknown syscall \"" + name + "\" skipped");
        continue;
      }
      std::string what = where + ": add rule " + action_text(r.action) + " for \"" + name + "\"";
      if (repeated) {
        // libseccomp cannot AND two conditions on one argument; like runc, such a rule
        // means any one of its conditions (one rule each).
        for (const auto& c : conds) check(seccomp_rule_add_array(ctx.c, r.action, nr, 1, &c), what);
      } else {
        check(seccomp_rule_add_array(ctx.c, r.action, nr, static_cast<unsigned>(conds.size()),
                                     conds.data()),
              what);
      }
    }
  }

  // libseccomp writes the program only to a file descriptor in this version.
  UniqueFd fd(memfd_create("ecsa-seccomp", MFD_CLOEXEC));
  if (!fd) throw_errno("seccomp: memfd_create");
  check(seccomp_export_bpf(ctx.c, fd.get()), "seccomp: export BPF program");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) throw_errno("seccomp: stat BPF program");
  size_t n = static_cast<size_t>(st.st_size) / sizeof(sock_filter);
  if (n > BPF_MAXINSNS)
    throw Error("seccomp: filter has " + std::to_string(n) +
                " instructions, the kernel takes at most " + std::to_string(BPF_MAXINSNS));
  prog_.resize(n);
  size_t bytes = n * sizeof(sock_filter);
  if (pread(fd.get(), prog_.data(), bytes, 0) != static_cast<ssize_t>(bytes))
    throw_errno("seccomp: read BPF program");
}

void SeccompFilter::load() const {
  sock_fprog prog{static_cast<unsigned short>(prog_.size()),
                  const_cast<sock_filter*>(prog_.data())};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &prog);
  if (rc < 0) {
    int err = errno;
    if (err == EACCES)
      throw_errno("load seccomp filter (needs noNewPrivileges or CAP_SYS_ADMIN)", err);
    throw_errno("load seccomp filter", err);
  }
  if (rc > 0)
    throw Error("load seccomp filter: thread " + std::to_string(rc) +
                " could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)");
}

nlohmann::json seccomp_features() {
  nlohmann::json j;
  j["enabled"] = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  auto& actions = j["actions"] = nlohmann::json::array();
  for (const auto& a : kActions) actions.push_back(a.name);
  auto& ops = j["operators"] = nlohmann::json::array();
  for (const auto& o : kOperators) ops.push_back(o.first);
  auto& archs = j["archs"] = nlohmann::json::array();
  for (const char* a : kArchs)
    if (arch_token(a) != 0) archs.push_back(a);
  auto& known = j["knownFlags"] = nlohmann::json::array();
  auto& supported = j["supportedFlags"] = nlohmann::json::array();
  for (const auto& [name, bit] : kFlags) {
    known.push_back(name);
    // The kernel checks the flags before it reads the (here missing) program: EFAULT means
    // the flag is accepted, EINVAL that it is not.
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, bit, nullptr) < 0 && errno == EFAULT)
      supported.push_back(name);
  }
  return j;
}

}  // namespace ecsa::runtime
