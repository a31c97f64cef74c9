// One cgroup controller (cpu, cpuset, memory, pids, devices, freezer) behind one interface:
// what it is called, whether a Resources asks anything of it, and how it writes the
// resources into a cgroup directory of a v1 hierarchy or of the v2 hierarchy.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroups/cgroups.hpp"

namespace ecsa::cgroups {

// A cgroup directory of one hierarchy, with the file operations controllers need.
class Dir {
 public:
  Dir(std::string path, const Layout& layout) : path_(std::move(path)), layout_(&layout) {}
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const;
  // Writes one value in one write(2). Error: "write <value> to <dir>/<file>: <errno text>".
  void write(std::string_view name, const std::string& value) const;
  // File content without the trailing newline. Errors name the file.
  std::string read(std::string_view name) const;
  std::optional<std::string> read_if_exists(std::string_view name) const;
  // A file holding one unsigned number. Error names the file and the text.
  uint64_t read_u64(std::string_view name) const;
  bool has(std::string_view name) const;
  Dir parent() const;
  bool fake() const { return !layout_->fake_root.empty(); }
  Dir child(const std::string& name) const { return Dir(path_ + "/" + name, *layout_); }

 private:
  std::string path_;
  const Layout* layout_;
};

class Controller {
 public:
  virtual ~Controller() = default;
  virtual std::string_view name() const = 0;
  // The remedy when the kernel lacks it, e.g. "kernel cmdline: cgroup_enable=memory cgroup_memory=1".
  virtual std::string_view hint() const = 0;
  // False for the v2 core features (freezer, devices) that need no cgroup.subtree_control entry.
  virtual bool v2_controller() const { return true; }
  virtual bool wanted(const Resources& r) const = 0;
  // For each directory of the path in this controller's v1 hierarchy, parents first, when
  // the cgroup is created (cpuset copies the parent's cpus and mems).
  virtual void init_v1(const Dir&) const {}
  virtual void apply_v1(const Dir& dir, const Resources& r) const = 0;
  virtual void apply_v2(const Dir& dir, const Resources& r) const = 0;
};

const Controller& cpu_controller();
const Controller& cpuset_controller();
const Controller& memory_controller();
const Controller& pids_controller();
const Controller& devices_controller();
const Controller& freezer_controller();
// All of the above, in the order apply() writes them.
const std::vector<const Controller*>& all_controllers();

// "memory cgroup controller not available (kernel cmdline: cgroup_enable=memory cgroup_memory=1)"
std::string not_available_message(const Controller& c);

// freezer.cpp: freeze or thaw and wait until the kernel reports it done.
void set_frozen_v1(const Dir& dir, bool frozen);
void set_frozen_v2(const Dir& dir, bool frozen);

// unified.cpp: linux.resources.unified, written as given into a v2 directory. Keys must
// name a file of the cgroup (no "/", no leading ".").
void check_unified_keys(const std::map<std::string, std::string>& unified);
void apply_unified(const Dir& dir, const std::map<std::string, std::string>& unified);

// cpu.cpp: cpu.weight for a v1 cpu.shares value, as runc converts it.
uint64_t shares_to_weight(uint64_t shares);

// fake_layout.cpp: what the kernel does in a fake layout: the files of a new cgroup
// directory, and a write to one of its files (appending to cgroup.procs and devices.*,
// merging cgroup.subtree_control, ...).
void fake_kernel_mkdir(const Layout& layout, const std::string& dir);
void fake_kernel_write(const Layout& layout, const std::string& file, const std::string& value);

}  // namespace ecsa::cgroups
