// cpuset controller: cpuset.cpus and cpuset.mems (same file names on v1 and v2).
#include "cgroups/controller.hpp"

namespace ecsa::cgroups {

namespace {

bool set(const std::optional<std::string>& v) { return v && !v->empty(); }

class Cpuset final : public Controller {
 public:
  std::string_view name() const override { return "cpuset"; }
  std::string_view hint() const override { return "kernel cmdline: cgroup_enable=cpuset"; }
  bool wanted(const Resources& r) const override { return set(r.cpu.cpus) || set(r.cpu.mems); }

  // A new v1 cpuset starts with empty cpus and mems and then refuses every task (ENOSPC):
  // copy the parent's, as runc does (cgroup.clone_children would do it only for new ones).
  void init_v1(const Dir& d) const override {
    Dir parent = d.parent();
    for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
      if (!d.read(f).empty()) continue;
      d.write(f, parent.read(f));
    }
  }

  void apply_v1(const Dir& d, const Resources& r) const override { write(d, r); }
  void apply_v2(const Dir& d, const Resources& r) const override { write(d, r); }

 private:
  static void write(const Dir& d, const Resources& r) {
    if (set(r.cpu.cpus)) d.write("cpuset.cpus", *r.cpu.cpus);
    if (set(r.cpu.mems)) d.write("cpuset.mems", *r.cpu.mems);
  }
};

}  // namespace

const Controller& cpuset_controller() {
  static const Cpuset c;
  return c;
}

}  // namespace ecsa::cgroups
