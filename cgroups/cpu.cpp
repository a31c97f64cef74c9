// cpu controller: shares (v2 weight), CFS bandwidth quota/period, realtime runtime/period.
// As runc does, a 0 in shares, quota or period means "not set".
#include <cerrno>
#include <string>

#include "cgroups/controller.hpp"
#include "common/error.hpp"

namespace ecsa::cgroups {

uint64_t shares_to_weight(uint64_t shares) {
  // v1 shares span [2, 262144], v2 weights [1, 10000]; runc's linear map.
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

namespace {

const char kCfsHint[] = "kernel config: CONFIG_CFS_BANDWIDTH=y";

bool set(const std::optional<uint64_t>& v) { return v && *v != 0; }
bool set(const std::optional<int64_t>& v) { return v && *v != 0; }

class Cpu final : public Controller {
 public:
  std::string_view name() const override { return "cpu"; }
  std::string_view hint() const override { return "kernel config: CONFIG_CGROUP_SCHED, CONFIG_FAIR_GROUP_SCHED"; }
  bool wanted(const Resources& r) const override {
    const auto& c = r.cpu;
    return set(c.shares) || set(c.quota) || set(c.period) || set(c.realtime_runtime) ||
           set(c.realtime_period);
  }

  void apply_v1(const Dir& d, const Resources& r) const override {
    const auto& c = r.cpu;
    if (set(c.shares)) d.write("cpu.shares", std::to_string(*c.shares));
    if (set(c.quota) || set(c.period)) {
      if (!d.has("cpu.cfs_quota_us"))
        throw Error("cpu quota: CFS bandwidth control not available (" + std::string(kCfsHint) +
                    "): no " + d.file("cpu.cfs_quota_us"));
      std::string quota = set(c.quota) ? std::to_string(*c.quota < 0 ? -1 : *c.quota) : "";
      if (set(c.period)) {
        // The kernel checks quota/period against the parent's and the children's ratios:
        // when the new period is refused next to the old quota, the quota goes first.
        try {
          d.write("cpu.cfs_period_us", std::to_string(*c.period));
        } catch (const Error&) {
          if (quota.empty()) throw;
          d.write("cpu.cfs_quota_us", quota);
          d.write("cpu.cfs_period_us", std::to_string(*c.period));
          quota.clear();
        }
      }
      if (!quota.empty()) d.write("cpu.cfs_quota_us", quota);
    }
    // The realtime period goes first: the runtime must fit in it.
    if (set(c.realtime_period)) d.write("cpu.rt_period_us", std::to_string(*c.realtime_period));
    if (set(c.realtime_runtime)) d.write("cpu.rt_runtime_us", std::to_string(*c.realtime_runtime));
  }

  void apply_v2(const Dir& d, const Resources& r) const override {
    const auto& c = r.cpu;
    if (set(c.realtime_runtime) || set(c.realtime_period))
      throw Error("cpu realtime runtime/period: not supported on cgroup v2 (" + d.path() + ")");
    if (set(c.shares)) d.write("cpu.weight", std::to_string(shares_to_weight(*c.shares)));
    if (set(c.quota) || set(c.period)) {
      if (!d.has("cpu.max"))
        throw Error("cpu quota: CFS bandwidth control not available (" + std::string(kCfsHint) +
                    "): no " + d.file("cpu.max"));
      // cpu.max takes both values: the one not asked for keeps its current setting.
      std::string quota = "max", period = "100000";
      if (!set(c.quota) || !set(c.period)) {
        std::string cur = d.read("cpu.max");
        auto sp = cur.find(' ');
        quota = cur.substr(0, sp);
        if (sp != std::string::npos) period = cur.substr(sp + 1);
      }
      if (set(c.quota)) quota = *c.quota < 0 ? "max" : std::to_string(*c.quota);
      if (set(c.period)) period = std::to_string(*c.period);
      d.write("cpu.max", quota + " " + period);
    }
  }
};

}  // namespace

const Controller& cpu_controller() {
  static const Cpu c;
  return c;
}

}  // namespace ecsa::cgroups
