// pids controller: pids.max (same file on v1 and v2); a limit <= 0 means no limit.
#include "cgroups/controller.hpp"

namespace ecsa::cgroups {

namespace {

class Pids final : public Controller {
 public:
  std::string_view name() const override { return "pids"; }
  std::string_view hint() const override { return "kernel config: CONFIG_CGROUP_PIDS=y"; }
  bool wanted(const Resources& r) const override { return r.pids.limit.has_value(); }
  void apply_v1(const Dir& d, const Resources& r) const override { write(d, r); }
  void apply_v2(const Dir& d, const Resources& r) const override { write(d, r); }

 private:
  static void write(const Dir& d, const Resources& r) {
    int64_t v = *r.pids.limit;
    d.write("pids.max", v <= 0 ? "max" : std::to_string(v));
  }
};

}  // namespace

const Controller& pids_controller() {
  static const Pids c;
  return c;
}

}  // namespace ecsa::cgroups
