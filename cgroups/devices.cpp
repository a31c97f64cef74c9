// devices controller. v1: each rule, in order, is a line written to devices.allow or
// devices.deny. v2 has no files for it: the rules become an eBPF program attached to the
// cgroup (device_bpf.cpp).
#include "cgroups/controller.hpp"
#include "cgroups/device_bpf.hpp"

namespace ecsa::cgroups {

namespace {

std::string rule_line(const DeviceRule& d) {
  std::string s(1, d.type);
  s += ' ';
  s += d.major ? std::to_string(*d.major) : "*";
  s += ':';
  s += d.minor ? std::to_string(*d.minor) : "*";
  s += ' ';
  s += d.access.empty() ? "rwm" : d.access;
  return s;
}

class Devices final : public Controller {
 public:
  std::string_view name() const override { return "devices"; }
  std::string_view hint() const override { return "kernel config: CONFIG_CGROUP_DEVICE=y"; }
  bool v2_controller() const override { return false; }
  bool wanted(const Resources& r) const override { return !r.devices.empty(); }

  void apply_v1(const Dir& d, const Resources& r) const override {
    for (const DeviceRule& rule : r.devices)
      d.write(rule.allow ? "devices.allow" : "devices.deny", rule_line(rule));
  }

  void apply_v2(const Dir& d, const Resources& r) const override {
    if (d.fake()) return;  // a fake directory is no cgroup to attach to; see device_program()
    attach_device_program(d.path(), r.devices);
  }
};

}  // namespace

const Controller& devices_controller() {
  static const Devices c;
  return c;
}

}  // namespace ecsa::cgroups
