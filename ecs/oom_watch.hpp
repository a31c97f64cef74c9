// Notification of OOM events in a memory cgroup, for the task supervisor's poll loop:
// cgroup v1 memory.oom_control through an eventfd registered in cgroup.event_control,
// cgroup v2 memory.events through inotify (the kernel signals a modification when a counter
// changes). The kill itself is confirmed from the oom_kill counter when the container exits.
#pragma once
#include <memory>
#include <string>

#include "cgroups/cgroups.hpp"
#include "common/fd.hpp"

namespace ecsa::ecs {

class OomWatch {
 public:
  // nullptr when the host has no memory controller for this cgroup (nothing to watch).
  static std::unique_ptr<OomWatch> open(const cgroups::Layout& layout,
                                        const std::string& cgroup_path);
  int fd() const { return fd_.get(); }
  // Call when fd() is readable: true if an OOM event happened since the last call.
  bool consume();

 private:
  OomWatch() = default;
  UniqueFd fd_;
  UniqueFd control_;       // v1: memory.oom_control, kept open while registered
  std::string events_;     // v2: memory.events path
  uint64_t last_oom_ = 0;  // v2: "oom" counter already seen
  bool v2_ = false;
};

}  // namespace ecsa::ecs
