#include <linux/seccomp.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "runtime/seccomp.hpp"

using namespace ecsa::runtime;

namespace {
SeccompProfile parse(const std::string& text) {
  auto doc = ecsa::json::parse(text, "config.json");
  return parse_seccomp(ecsa::json::Node(doc, "linux.seccomp"));
}

bool has(const nlohmann::json& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}
}  // namespace

TEST_CASE("seccomp profile is translated to libseccomp values", "[unit][runtime]") {
  auto p = parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                      "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X86"],
    "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO"},
      {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                {"index": 1, "value": 255, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["reboot"], "action": "SCMP_ACT_KILL"},
      {"names": ["kexec_load"], "action": "SCMP_ACT_KILL_PROCESS"},
      {"names": ["acct"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
      {"names": ["swapon"], "action": "SCMP_ACT_LOG"},
      {"names": ["swapoff"], "action": "SCMP_ACT_TRAP"}
    ]})");
  REQUIRE(p.default_action == SCMP_ACT_ERRNO(1));
  REQUIRE(p.architectures == std::vector<uint32_t>{SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32,
                                                   SCMP_ARCH_AARCH64, SCMP_ARCH_ARM});
  REQUIRE(p.flags == (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG));
  REQUIRE(p.syscalls.size() == 9);
  REQUIRE(p.syscalls[0].names == std::vector<std::string>{"read", "write"});
  REQUIRE(p.syscalls[0].action == SCMP_ACT_ALLOW);
  REQUIRE(p.syscalls[1].action == SCMP_ACT_ERRNO(38));
  REQUIRE(p.syscalls[2].action == SCMP_ACT_ERRNO(EPERM));  // errnoRet absent
  const auto& args = p.syscalls[3].args;
  REQUIRE(args.size() == 2);
  REQUIRE(args[0].index == 0);
  REQUIRE(args[0].value == 8);
  REQUIRE(args[0].value_two == 0);
  REQUIRE(args[0].op == SCMP_CMP_EQ);
  REQUIRE(args[1].index == 1);
  REQUIRE(args[1].value == 255);
  REQUIRE(args[1].value_two == 3);
  REQUIRE(args[1].op == SCMP_CMP_MASKED_EQ);
  REQUIRE(p.syscalls[4].action == SCMP_ACT_KILL_THREAD);
  REQUIRE(p.syscalls[5].action == SCMP_ACT_KILL_PROCESS);
  REQUIRE(p.syscalls[6].action == SCMP_ACT_TRACE(7));
  REQUIRE(p.syscalls[7].action == SCMP_ACT_LOG);
  REQUIRE(p.syscalls[8].action == SCMP_ACT_TRAP);

  auto minimal = parse(R"({"defaultAction": "SCMP_ACT_ERRNO"})");
  REQUIRE(minimal.default_action == SCMP_ACT_ERRNO(EPERM));
  REQUIRE(minimal.architectures.empty());
  REQUIRE(minimal.flags == 0);
  REQUIRE(minimal.syscalls.empty());
}

TEST_CASE("bad seccomp profiles fail with their JSON path", "[unit][runtime]") {
  REQUIRE_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_FOO"})"),
                      "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\"");
  REQUIRE_THROWS_WITH(parse(R"({})"), "linux.seccomp.defaultAction: required field is missing");
  REQUIRE_THROWS_WITH(
      parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]})"),
      "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_PDP11\"");
  REQUIRE_THROWS_WITH(
      parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_x86_64"]})"),
      "linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_x86_64\"");
  REQUIRE_THROWS_WITH(
      parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FOO"]})"),
      "linux.seccomp.flags[0]: unknown seccomp flag \"SECCOMP_FILTER_FLAG_FOO\"");
  REQUIRE_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                                 {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})"),
                      "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported");
  REQUIRE_THROWS_WITH(
      parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/seccomp.sock"})"),
      "linux.seccomp.listenerPath: seccomp notify listeners are not supported");
  REQUIRE_THROWS_WITH(
      parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                                 {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                  "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_LIKE"}]}]})"),
      "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator \"SCMP_CMP_LIKE\"");
  REQUIRE_THROWS_WITH(
      parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                                 {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                  "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})"),
      "linux.seccomp.syscalls[0].args[0].index: expected an integer from 0 to 5, got 6");
  REQUIRE_THROWS_WITH(parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                                 {"names": [], "action": "SCMP_ACT_ERRNO"}]})"),
                      "linux.seccomp.syscalls[0].names: expected at least one syscall name");
  REQUIRE_THROWS_WITH(
      parse(R"({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000})"),
      "linux.seccomp.defaultErrnoRet: expected an integer from 0 to 4094, got 5000");
}

TEST_CASE("seccomp profile compiles to a BPF program", "[unit][runtime]") {
  auto p = parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    "syscalls": [
      {"names": ["mkdir", "mkdirat", "no_such_syscall_here"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
      {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"}]},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 65280, "valueTwo": 12288, "op": "SCMP_CMP_MASKED_EQ"}]},
      {"names": ["reboot"], "action": "SCMP_ACT_KILL"}
    ]})");
  SeccompFilter f(p);
  REQUIRE(f.instructions() > 10);

  // A filter that only allows: the program is the architecture check and the default.
  SeccompFilter allow(parse(R"({"defaultAction": "SCMP_ACT_ALLOW"})"));
  REQUIRE(allow.instructions() > 0);
  REQUIRE(allow.instructions() < f.instructions());
}

TEST_CASE("seccomp features describe what the runtime supports", "[unit][runtime]") {
  auto j = seccomp_features();
  REQUIRE(j.at("enabled").is_boolean());
  REQUIRE(has(j.at("actions"), "SCMP_ACT_ALLOW"));
  REQUIRE(has(j.at("actions"), "SCMP_ACT_KILL_PROCESS"));
  REQUIRE_FALSE(has(j.at("actions"), "SCMP_ACT_NOTIFY"));
  REQUIRE(j.at("operators").size() == 7);
  REQUIRE(has(j.at("operators"), "SCMP_CMP_MASKED_EQ"));
  const char* native = seccomp_arch_native() == SCMP_ARCH_AARCH64  ? "SCMP_ARCH_AARCH64"
                       : seccomp_arch_native() == SCMP_ARCH_X86_64 ? "SCMP_ARCH_X86_64"
                                                                   : nullptr;
  if (native) REQUIRE(has(j.at("archs"), native));
  REQUIRE(has(j.at("archs"), "SCMP_ARCH_ARM"));
  REQUIRE(j.at("knownFlags") ==
          nlohmann::json::array({"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                                 "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}));
  for (const auto& f : j.at("supportedFlags")) REQUIRE(has(j.at("knownFlags"), f));
}
