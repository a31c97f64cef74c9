// freezer: v1 freezer.state, v2 cgroup.freeze (a core feature of every v2 cgroup). Resources
// ask nothing of it; Cgroup::set_frozen uses it for pause and kill --all.
#include <time.h>

#include "cgroups/controller.hpp"
#include "common/error.hpp"

namespace ecsa::cgroups {

namespace {

constexpr int kWaitMs = 2000;

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

class Freezer final : public Controller {
 public:
  std::string_view name() const override { return "freezer"; }
  std::string_view hint() const override { return "kernel config: CONFIG_CGROUP_FREEZER=y"; }
  bool v2_controller() const override { return false; }
  bool wanted(const Resources&) const override { return false; }
  void apply_v1(const Dir&, const Resources&) const override {}
  void apply_v2(const Dir&, const Resources&) const override {}
};

}  // namespace

const Controller& freezer_controller() {
  static const Freezer c;
  return c;
}

void set_frozen_v1(const Dir& d, bool frozen) {
  const std::string want = frozen ? "FROZEN" : "THAWED";
  // The state reads FREEZING while tasks are still on their way; writing FROZEN again
  // retries the tasks that were busy (as runc does).
  for (int waited = 0;; waited += 5) {
    d.write("freezer.state", want);
    std::string now = d.read("freezer.state");
    if (now == want) return;
    if (waited >= kWaitMs) {
      if (frozen) d.write("freezer.state", "THAWED");  // leave nothing half-frozen
      throw Error("freeze " + d.path() + ": freezer.state is " + now + " after " +
                  std::to_string(kWaitMs) + " ms, wanted " + want);
    }
    sleep_ms(5);
  }
}

void set_frozen_v2(const Dir& d, bool frozen) {
  if (!d.has("cgroup.freeze"))
    throw Error("freeze " + d.path() + ": no cgroup.freeze (kernel 5.2 or later needed)");
  d.write("cgroup.freeze", frozen ? "1" : "0");
  const std::string want = frozen ? "frozen 1" : "frozen 0";
  for (int waited = 0;; waited += 5) {
    std::string events = d.read("cgroup.events");
    if (events.find(want) != std::string::npos) return;
    if (waited >= kWaitMs) {
      if (frozen) d.write("cgroup.freeze", "0");
      throw Error("freeze " + d.path() + ": cgroup.events does not say \"" + want + "\" after " +
                  std::to_string(kWaitMs) + " ms");
    }
    sleep_ms(5);
  }
}

}  // namespace ecsa::cgroups
