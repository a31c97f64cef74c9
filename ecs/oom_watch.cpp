#include "ecs/oom_watch.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::ecs {

namespace {

uint64_t oom_counter(const std::string& events_path) {
  auto text = fs::read_file_if_exists(events_path);
  if (!text) return 0;
  std::istringstream in(*text);
  std::string k;
  uint64_t v = 0;
  while (in >> k >> v)
    if (k == "oom") return v;
  return 0;
}

}  // namespace

std::unique_ptr<OomWatch> OomWatch::open(const cgroups::Layout& layout,
                                         const std::string& cgroup_path) {
  cgroups::Cgroup cg(layout, cgroup_path);
  std::unique_ptr<OomWatch> w(new OomWatch());
  std::string v1 = layout.v1_mount("memory");
  if (!v1.empty()) {
    std::string dir = v1 + cgroup_path;
    w->control_ = UniqueFd(::open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!w->control_) throw_errno("open " + dir + "/memory.oom_control");
    w->fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!w->fd_) throw_errno("eventfd");
    fs::write_existing(dir + "/cgroup.event_control",
                       std::to_string(w->fd_.get()) + " " + std::to_string(w->control_.get()));
    return w;
  }
  std::string v2 = cg.dir("memory");
  if (v2.empty() || !fs::exists(v2 + "/memory.events")) return nullptr;
  w->v2_ = true;
  w->events_ = v2 + "/memory.events";
  w->fd_ = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!w->fd_) throw_errno("inotify_init1");
  if (::inotify_add_watch(w->fd_.get(), w->events_.c_str(), IN_MODIFY) < 0)
    throw_errno("inotify_add_watch " + w->events_);
  w->last_oom_ = oom_counter(w->events_);
  return w;
}

bool OomWatch::consume() {
  char buf[4096];
  bool any = false;
  while (::read(fd_.get(), buf, sizeof buf) > 0) any = true;
  if (!any) return false;
  if (!v2_) return true;
  uint64_t now = oom_counter(events_);
  bool changed = now != last_oom_;
  last_oom_ = now;
  return changed;
}

}  // namespace ecsa::ecs
