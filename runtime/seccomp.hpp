// Seccomp filters of the container process (linux.seccomp of an OCI config).
// The parent parses the profile and compiles it to BPF with libseccomp before clone; the
// child only hands the ready program to the kernel, so it allocates nothing at that point.
#pragma once
#include <linux/filter.h>
#include <seccomp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::runtime {

struct SeccompArg {
  unsigned index;      // syscall argument 0..5
  uint64_t value;      // for SCMP_CMP_MASKED_EQ: the mask
  uint64_t value_two;  // for SCMP_CMP_MASKED_EQ: the value compared after masking
  scmp_compare op;
};

struct SeccompRule {
  std::vector<std::string> names;  // syscall names; ones libseccomp does not know are skipped
  uint32_t action;                 // libseccomp action, return value included
  std::vector<SeccompArg> args;
};

struct SeccompProfile {
  uint32_t default_action = SCMP_ACT_ALLOW;  // libseccomp action, e.g. SCMP_ACT_ERRNO(EPERM)
  std::vector<uint32_t> architectures;       // libseccomp tokens; the native one is implied
  unsigned flags = 0;                        // SECCOMP_FILTER_FLAG_* given to seccomp(2)
  std::vector<SeccompRule> syscalls;
};

// Reads linux.seccomp. Unknown actions, operators, architectures and flags fail with their
// JSON path; SCMP_ACT_NOTIFY and listenerPath are not supported and fail too. errnoRet and
// defaultErrnoRet default to EPERM.
SeccompProfile parse_seccomp(const json::Node& seccomp);

// A profile compiled to a BPF program for the native architecture (plus the profile's).
class SeccompFilter {
 public:
  // Throws Error naming the rule (syscall and index) libseccomp refused.
  explicit SeccompFilter(const SeccompProfile& profile);

  // Child side, the last step before execve: installs the filter on the calling process.
  // The kernel allows this only with no_new_privs set (process.noNewPrivileges) or with
  // CAP_SYS_ADMIN still effective; otherwise it fails with EACCES.
  void load() const;

  size_t instructions() const { return prog_.size(); }

 private:
  std::vector<sock_filter> prog_;
  unsigned flags_ = 0;
};

// The linux.seccomp object of the runtime-spec features document: enabled, actions,
// operators, archs, knownFlags, supportedFlags.
nlohmann::json seccomp_features();

}  // namespace ecsa::runtime
