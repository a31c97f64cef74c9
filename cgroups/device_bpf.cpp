// cgroup v2 device rules: v2 has no devices.allow/deny files; the kernel instead runs an
// eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup on every device
// open and mknod. Built here from the OCI rule list with raw bpf(2) calls (no libbpf).
//
// The program reads the request (struct bpf_cgroup_dev_ctx) into registers, then tests the
// rules from the last to the first: the first block that matches returns its verdict, so
// the last matching rule wins, as when the rules are written one by one to a v1 cgroup.
// A request no rule matches is allowed: a new v1 cgroup starts from its parent's
// "a *:* rwm", and OCI rule lists begin with "deny all" when they mean a whitelist.
#include "cgroups/device_bpf.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace ecsa::cgroups {

namespace {

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i;
  std::memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
bpf_insn load_u32(uint8_t dst, int16_t off) { return insn(BPF_LDX | BPF_W | BPF_MEM, dst, BPF_REG_1, off, 0); }
bpf_insn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) { return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn mov32_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn jne_imm(uint8_t dst, int32_t imm) { return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm); }
bpf_insn jne_reg(uint8_t dst, uint8_t src) { return insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, 0, 0); }
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t access_bits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access.empty() ? std::string("rwm") : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

long bpf(int cmd, bpf_attr& attr) { return ::syscall(__NR_bpf, cmd, &attr, sizeof attr); }

}  // namespace

std::vector<bpf_insn> device_program(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> p;
  // R2 = device type, R3 = requested access, R4 = major, R5 = minor.
  p.push_back(load_u32(BPF_REG_2, 0));
  p.push_back(alu32_imm(BPF_AND, BPF_REG_2, 0xffff));
  p.push_back(load_u32(BPF_REG_3, 0));
  p.push_back(alu32_imm(BPF_RSH, BPF_REG_3, 16));
  p.push_back(load_u32(BPF_REG_4, 4));
  p.push_back(load_u32(BPF_REG_5, 8));
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& r = *it;
    std::vector<bpf_insn> block;  // each jne skips to the end of the block
    if (r.type == 'c' || r.type == 'b')
      block.push_back(jne_imm(BPF_REG_2, r.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    int32_t bits = access_bits(r.access);
    if (bits != kAllAccess) {
      // Every requested bit must be in the rule: (access & bits) == access.
      block.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
      block.push_back(alu32_imm(BPF_AND, BPF_REG_1, bits));
      block.push_back(jne_reg(BPF_REG_1, BPF_REG_3));
    }
    if (r.major) block.push_back(jne_imm(BPF_REG_4, static_cast<int32_t>(*r.major)));
    if (r.minor) block.push_back(jne_imm(BPF_REG_5, static_cast<int32_t>(*r.minor)));
    block.push_back(alu32_imm(BPF_MOV, BPF_REG_0, r.allow ? 1 : 0));
    block.push_back(exit_insn());
    for (size_t i = 0; i < block.size(); ++i)
      if (BPF_CLASS(block[i].code) == BPF_JMP && BPF_OP(block[i].code) == BPF_JNE)
        block[i].off = static_cast<int16_t>(block.size() - i - 1);
    p.insert(p.end(), block.begin(), block.end());
    // A rule that matches everything decides every request: the verifier rejects the
    // unreachable code the earlier rules and the default would be.
    if (block.size() == 2) return p;
  }
  p.push_back(alu32_imm(BPF_MOV, BPF_REG_0, 1));
  p.push_back(exit_insn());
  return p;
}

void attach_device_program(const std::string& dir, const std::vector<DeviceRule>& rules) {
  UniqueFd cg(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) throw_errno("open " + dir);

  // The programs attached before (an earlier apply): replaced once the new one is in.
  uint32_t old_ids[64];
  uint32_t old_count = 64;
  {
    bpf_attr a;
    std::memset(&a, 0, sizeof a);
    a.query.target_fd = static_cast<uint32_t>(cg.get());
    a.query.attach_type = BPF_CGROUP_DEVICE;
    a.query.prog_ids = reinterpret_cast<uint64_t>(old_ids);
    a.query.prog_cnt = old_count;
    if (bpf(BPF_PROG_QUERY, a) != 0) throw_errno("query the device programs of " + dir);
    old_count = a.query.prog_cnt;
  }

  std::vector<bpf_insn> prog = device_program(rules);
  static const char license[] = "Apache-2.0";
  char log[4096] = "";
  bpf_attr a;
  std::memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = reinterpret_cast<uint64_t>(prog.data());
  a.insn_cnt = static_cast<uint32_t>(prog.size());
  a.license = reinterpret_cast<uint64_t>(license);
  a.log_buf = reinterpret_cast<uint64_t>(log);
  a.log_size = sizeof log;
  a.log_level = 1;
  UniqueFd fd(static_cast<int>(bpf(BPF_PROG_LOAD, a)));
  if (!fd) {
    int err = errno;
    std::string why(log, strnlen(log, sizeof log));
    while (!why.empty() && why.back() == '\n') why.pop_back();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);  // the verifier's complaint
    throw_errno("load the eBPF device program for " + dir + (why.empty() ? "" : " (" + why + ")"), err);
  }

  std::memset(&a, 0, sizeof a);
  a.target_fd = static_cast<uint32_t>(cg.get());
  a.attach_bpf_fd = static_cast<uint32_t>(fd.get());
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, a) != 0) throw_errno("attach the eBPF device program to " + dir);

  for (uint32_t i = 0; i < old_count && i < 64; ++i) {
    std::memset(&a, 0, sizeof a);
    a.prog_id = old_ids[i];
    UniqueFd old(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, a)));
    if (!old) {
      if (errno == ENOENT) continue;
      throw_errno("open eBPF program " + std::to_string(old_ids[i]) + " of " + dir);
    }
    std::memset(&a, 0, sizeof a);
    a.target_fd = static_cast<uint32_t>(cg.get());
    a.attach_bpf_fd = static_cast<uint32_t>(old.get());
    a.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, a) != 0 && errno != ENOENT)
      throw_errno("detach eBPF program " + std::to_string(old_ids[i]) + " from " + dir);
  }
}

}  // namespace ecsa::cgroups
