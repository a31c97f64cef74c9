// memory controller: limit, reservation (soft limit / memory.low), swap (OCI memory+swap),
// swappiness, OOM killer switch, use_hierarchy. As runc does, 0 in limit, reservation and
// swap means "not set".
#include <string>

#include "cgroups/controller.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

namespace ecsa::cgroups {

namespace {

const char kSwapHint[] = "kernel cmdline: swapaccount=1";

std::optional<int64_t> given(const std::optional<int64_t>& v) {
  return v && *v != 0 ? v : std::nullopt;
}

class Memory final : public Controller {
 public:
  std::string_view name() const override { return "memory"; }
  std::string_view hint() const override { return "kernel cmdline: cgroup_enable=memory cgroup_memory=1"; }
  bool wanted(const Resources& r) const override {
    const auto& m = r.memory;
    return given(m.limit) || given(m.reservation) || given(m.swap) || m.swappiness ||
           m.disable_oom_killer.value_or(false) || m.use_hierarchy.value_or(false);
  }

  void apply_v1(const Dir& d, const Resources& r) const override {
    const auto& m = r.memory;
    // Before anything else: the kernel refuses to change it once there are children.
    if (m.use_hierarchy) {
      std::string want = *m.use_hierarchy ? "1" : "0";
      if (d.read("memory.use_hierarchy") != want) d.write("memory.use_hierarchy", want);
    }
    auto limit = given(m.limit);
    auto swap = given(m.swap);
    const bool has_memsw = d.has("memory.memsw.limit_in_bytes");
    if (limit == -1 && !swap && has_memsw) swap = -1;  // "unlimited memory" includes swap
    if (swap && !has_memsw) {
      if (*swap != -1)
        log::warn("memory swap limit " + std::to_string(*swap) +
                  " not applied: the kernel has no swap accounting (" + kSwapHint + ")");
      swap.reset();
    }
    auto write_limit = [&] { d.write("memory.limit_in_bytes", std::to_string(*limit)); };
    auto write_swap = [&] { d.write("memory.memsw.limit_in_bytes", std::to_string(*swap)); };
    if (limit && swap) {
      // memory.memsw.limit_in_bytes must stay >= memory.limit_in_bytes after each write:
      // raising, memsw goes first; lowering, the limit goes first.
      uint64_t cur = d.read_u64("memory.limit_in_bytes");
      if (*swap == -1 || cur < static_cast<uint64_t>(*swap)) {
        write_swap();
        write_limit();
      } else {
        write_limit();
        write_swap();
      }
    } else if (limit) {
      write_limit();
    } else if (swap) {
      write_swap();
    }
    if (auto v = given(m.reservation)) d.write("memory.soft_limit_in_bytes", std::to_string(*v));
    if (m.swappiness) {
      if (*m.swappiness > 100)
        throw Error("memory swappiness " + std::to_string(*m.swappiness) + ": valid range is 0-100");
      d.write("memory.swappiness", std::to_string(*m.swappiness));
    }
    if (m.disable_oom_killer) d.write("memory.oom_control", *m.disable_oom_killer ? "1" : "0");
  }

  void apply_v2(const Dir& d, const Resources& r) const override {
    const auto& m = r.memory;
    auto limit = given(m.limit);
    auto swap = given(m.swap);
    // memory.swap.max holds swap alone where OCI gives memory+swap.
    std::optional<std::string> swap_max;
    if (limit == -1 && !swap) {
      swap_max = "max";
    } else if (swap == -1) {
      swap_max = "max";
    } else if (swap) {
      if (!limit || *limit == -1)
        throw Error("memory swap " + std::to_string(*swap) + ": a swap limit needs a memory limit");
      if (*swap < *limit)
        throw Error("memory swap " + std::to_string(*swap) + ": memory+swap must be >= the memory limit " +
                    std::to_string(*limit));
      swap_max = std::to_string(*swap - *limit);
    }
    if (swap_max) {
      if (d.has("memory.swap.max")) {
        d.write("memory.swap.max", *swap_max);
      } else if (*swap_max != "max" && *swap_max != "0") {
        log::warn("memory swap limit not applied: no " + d.file("memory.swap.max") + " (" + kSwapHint + ")");
      }
    }
    if (limit) d.write("memory.max", *limit == -1 ? "max" : std::to_string(*limit));
    if (auto v = given(m.reservation)) d.write("memory.low", *v == -1 ? "max" : std::to_string(*v));
    if (m.swappiness) log::debug("memory swappiness is not applied on cgroup v2 (no such file)");
    if (m.disable_oom_killer.value_or(false))
      log::debug("memory disableOOMKiller is not applied on cgroup v2 (no such file)");
  }
};

}  // namespace

const Controller& memory_controller() {
  static const Memory c;
  return c;
}

}  // namespace ecsa::cgroups
