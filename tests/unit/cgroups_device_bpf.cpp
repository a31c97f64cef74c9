// The cgroup v2 device program, run by a small interpreter of the instructions it uses, so
// its verdicts are checked without root or a kernel (also under qemu for arm64).
#include <catch2/catch.hpp>

#include <cstring>

#include "cgroups/device_bpf.hpp"

using namespace ecsa::cgroups;

namespace {

// Runs `prog` on a bpf_cgroup_dev_ctx; returns R0. Fails the test on an unknown instruction.
uint64_t run(const std::vector<bpf_insn>& prog, char type, uint32_t access, uint32_t major, uint32_t minor) {
  bpf_cgroup_dev_ctx ctx;
  ctx.access_type = (access << 16) | (type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
  ctx.major = major;
  ctx.minor = minor;
  uint64_t reg[11] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    uint64_t src = BPF_SRC(i.code) == BPF_X ? reg[i.src_reg] : uint64_t(int64_t(i.imm));
    switch (BPF_CLASS(i.code)) {
      case BPF_LDX: {
        REQUIRE(i.code == (BPF_LDX | BPF_W | BPF_MEM));
        REQUIRE(i.src_reg == BPF_REG_1);
        REQUIRE((i.off == 0 || i.off == 4 || i.off == 8));
        uint32_t v;
        std::memcpy(&v, reinterpret_cast<const char*>(&ctx) + i.off, 4);
        reg[i.dst_reg] = v;
        break;
      }
      case BPF_ALU: {
        uint32_t a = uint32_t(reg[i.dst_reg]), b = uint32_t(src);
        switch (BPF_OP(i.code)) {
          case BPF_AND: a &= b; break;
          case BPF_RSH: a >>= b; break;
          case BPF_MOV: a = b; break;
          default: FAIL("unexpected ALU op " << int(i.code));
        }
        reg[i.dst_reg] = a;
        break;
      }
      case BPF_JMP:
        if (BPF_OP(i.code) == BPF_EXIT) return reg[0];
        REQUIRE(BPF_OP(i.code) == BPF_JNE);
        if (reg[i.dst_reg] != src) pc += size_t(i.off);
        break;
      default:
        FAIL("unexpected instruction class " << int(i.code));
    }
  }
  FAIL("program ran off its end");
  return 0;
}

constexpr uint32_t R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

DeviceRule rule(bool allow, char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                const char* access) {
  return DeviceRule{allow, type, major, minor, access};
}

}  // namespace

TEST_CASE("cgroup v2 device program: an OCI whitelist", "[unit][cgroups]") {
  auto p = device_program({rule(false, 'a', {}, {}, "rwm"), rule(true, 'c', 1, 3, "rwm"),
                           rule(true, 'c', 136, {}, "rw"), rule(true, 'b', 8, 0, "r")});
  CHECK(run(p, 'c', R | W, 1, 3) == 1);     // /dev/null
  CHECK(run(p, 'c', M, 1, 3) == 1);
  CHECK(run(p, 'c', R, 1, 5) == 0);         // /dev/zero: not listed
  CHECK(run(p, 'c', R | W, 136, 7) == 1);   // any pty
  CHECK(run(p, 'c', M, 136, 7) == 0);       // but no mknod
  CHECK(run(p, 'b', R, 8, 0) == 1);
  CHECK(run(p, 'b', W, 8, 0) == 0);
  CHECK(run(p, 'b', R, 1, 3) == 0);         // type matters
}

TEST_CASE("cgroup v2 device program: defaults and the last matching rule", "[unit][cgroups]") {
  CHECK(run(device_program({}), 'c', R, 1, 5) == 1);  // no rules: as a new v1 cgroup, all allowed
  CHECK(run(device_program({rule(true, 'a', {}, {}, "rwm")}), 'b', M, 8, 1) == 1);
  auto deny_one = device_program({rule(false, 'c', 1, 3, "w")});
  CHECK(run(deny_one, 'c', W, 1, 3) == 0);
  CHECK(run(deny_one, 'c', R, 1, 3) == 1);
  CHECK(run(deny_one, 'c', R | W, 1, 3) == 1);  // partly outside the rule: the rule does not match
  auto last_wins = device_program({rule(true, 'c', 1, 3, "rwm"), rule(false, 'c', 1, 3, "rwm")});
  CHECK(run(last_wins, 'c', R, 1, 3) == 0);
  auto then_allow = device_program({rule(false, 'c', 1, 3, "rwm"), rule(true, 'c', 1, {}, "rwm")});
  CHECK(run(then_allow, 'c', R, 1, 3) == 1);
}

TEST_CASE("cgroup v2 device program: no unreachable code after a catch-all rule", "[unit][cgroups]") {
  // The verifier refuses unreachable instructions: nothing may follow a rule that matches all.
  auto p = device_program({rule(true, 'c', 1, 3, "rwm"), rule(false, 'a', {}, {}, "rwm")});
  REQUIRE(p.size() == 8);  // 6 loads, then "r0 = 0; exit"
  CHECK(run(p, 'c', R, 1, 3) == 0);
  auto q = device_program({rule(false, 'a', {}, {}, "rwm"), rule(true, 'c', 1, 3, "rwm")});
  CHECK(BPF_CLASS(q.back().code) == BPF_JMP);
  CHECK(q[q.size() - 2].imm == 0);  // ends with the catch-all deny, no default after it
}
