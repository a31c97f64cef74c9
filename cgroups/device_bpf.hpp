// cgroup v2 device rules as an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE).
#pragma once
#include <linux/bpf.h>

#include <string>
#include <vector>

#include "cgroups/cgroups.hpp"

namespace ecsa::cgroups {

// The program for `rules` (last matching rule wins; no match allows). Returns 1 to allow
// a request, 0 to deny it; reads struct bpf_cgroup_dev_ctx from R1.
std::vector<bpf_insn> device_program(const std::vector<DeviceRule>& rules);

// Loads the program and attaches it to the cgroup directory `dir` (cgroup2), replacing the
// device programs attached to it before. Needs CAP_SYS_ADMIN (or CAP_BPF).
void attach_device_program(const std::string& dir, const std::vector<DeviceRule>& rules);

}  // namespace ecsa::cgroups
