// One cgroup path across the hierarchies of a Layout: create, apply, join, inspect, remove.
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <sstream>

#include "cgroups/cgroups.hpp"
#include "cgroups/controller.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::cgroups {

namespace {

enum class Route { v1, v2, none };

// Where a controller's files are: its v1 hierarchy if mounted, else the v2 hierarchy if the
// kernel offers it there (the core features freezer and devices are always there).
Route route(const Layout& l, const Controller& c) {
  const std::string name(c.name());
  if (!l.v1_mount(name).empty()) return Route::v1;
  if (!l.v2_mount.empty() && (!c.v2_controller() || l.v2_controllers.count(name))) return Route::v2;
  return Route::none;
}

std::string normalize(const std::string& path) {
  std::string out;
  std::istringstream in(path);
  std::string part;
  while (std::getline(in, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") throw Error("cgroup path \"" + path + "\": \"..\" is not allowed");
    out += '/';
    out += part;
  }
  if (out.empty()) throw Error("cgroup path \"" + path + "\": must name a cgroup below the root");
  return out;
}

// The directories from the first level below `root` down to root + path.
std::vector<std::string> levels(const std::string& root, const std::string& path) {
  std::vector<std::string> out;
  for (size_t p = path.find('/', 1);; p = path.find('/', p + 1)) {
    out.push_back(root + path.substr(0, p));
    if (p == std::string::npos) break;
  }
  return out;
}

std::set<std::string> words(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.insert(w[0] == '+' ? w.substr(1) : w);
  return out;
}

// Adds the missing controllers of `want` to dir/cgroup.subtree_control.
void enable_controllers(const Dir& d, const std::set<std::string>& want) {
  std::set<std::string> have = words(d.read("cgroup.subtree_control"));
  std::string add;
  for (const auto& c : want)
    if (!have.count(c)) add += (add.empty() ? "+" : " +") + c;
  if (!add.empty()) d.write("cgroup.subtree_control", add);
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  ::nanosleep(&ts, nullptr);
}

int64_t now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// rmdir of a cgroup directory and its children, children first. EBUSY means children or
// tasks that are still exiting: remove the children, then retry until the deadline.
void rmdir_tree(const std::string& dir, bool fake, int64_t deadline) {
  // The usual case, a leaf: one rmdir, no listing (a fake's files would make it ENOTEMPTY).
  if (!fake && (::rmdir(dir.c_str()) == 0 || errno == ENOENT)) return;
  for (const std::string& name : fs::list_dir(dir)) {
    std::string p = dir + "/" + name;
    if (is_dir(p))
      rmdir_tree(p, fake, deadline);
    else if (fake)
      ::unlink(p.c_str());  // the kernel's files vanish with the directory; a fake's do not
  }
  for (int pause = 1;; pause = std::min(pause * 2, 50)) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY || now_ms() >= deadline) throw_errno("rmdir " + dir);
    sleep_ms(pause);
  }
}

constexpr int kDestroyWaitMs = 2000;

}  // namespace

Cgroup::Cgroup(const Layout& layout, std::string path) : layout_(&layout), path_(normalize(path)) {}

std::string Cgroup::dir(const std::string& controller) const {
  const Layout& l = *layout_;
  if (controller.empty()) return l.v2_mount.empty() ? "" : l.v2_mount + path_;
  std::string m = l.v1_mount(controller);
  if (!m.empty()) return m + path_;
  for (const Controller* c : all_controllers())
    if (c->name() == controller) return route(l, *c) == Route::v2 ? l.v2_mount + path_ : "";
  return !l.v2_mount.empty() && l.v2_controllers.count(controller) ? l.v2_mount + path_ : "";
}

void Cgroup::create() {
  const Layout& l = *layout_;
  const bool fake = !l.fake_root.empty();
  std::vector<std::string> made;  // removed again if a later step fails
  auto make = [&](const std::string& d) {
    if (::mkdir(d.c_str(), 0755) == 0) {
      made.push_back(d);
      if (fake) fake_kernel_mkdir(l, d);
    } else if (errno != EEXIST) {
      throw_errno("mkdir " + d);
    }
  };
  try {
    for (const std::string& root : l.v1_roots()) {
      const bool cpuset = l.v1_mount("cpuset") == root;
      for (const std::string& d : levels(root, path_)) {
        make(d);
        if (cpuset) cpuset_controller().init_v1(Dir(d, l));
      }
    }
    if (!l.v2_mount.empty()) {
      // The controllers routed to v2 must be enabled in every parent before the child
      // shows their files.
      std::set<std::string> want;
      for (const Controller* c : all_controllers())
        if (c->v2_controller() && route(l, *c) == Route::v2) want.insert(std::string(c->name()));
      std::string parent = l.v2_mount;
      for (const std::string& d : levels(l.v2_mount, path_)) {
        if (!want.empty()) enable_controllers(Dir(parent, l), want);
        make(d);
        parent = d;
      }
    }
  } catch (...) {
    for (auto it = made.rbegin(); it != made.rend(); ++it) {
      try {
        rmdir_tree(*it, fake, 0);
      } catch (const Error&) {
      }
    }
    throw;
  }
}

void Cgroup::apply(const Resources& r) {
  const Layout& l = *layout_;
  // Check everything asked for is there before writing anything.
  std::vector<std::pair<const Controller*, Route>> steps;
  for (const Controller* c : all_controllers()) {
    if (!c->wanted(r)) continue;
    Route rt = route(l, *c);
    if (rt == Route::none) throw Error(not_available_message(*c));
    steps.emplace_back(c, rt);
  }
  if (!r.unified.empty() && l.v2_mount.empty())
    throw Error("linux.resources.unified: needs cgroup v2, this host has only cgroup v1");
  check_unified_keys(r.unified);
  for (const auto& [c, rt] : steps) {
    if (rt == Route::v1)
      c->apply_v1(Dir(l.v1_mount(std::string(c->name())) + path_, l), r);
    else
      c->apply_v2(Dir(l.v2_mount + path_, l), r);
  }
  if (!r.unified.empty()) {
    // "memory.high" needs the memory controller enabled in the parents, when the kernel has it.
    std::set<std::string> want;
    for (const auto& [key, value] : r.unified) {
      std::string prefix = key.substr(0, key.find('.'));
      if (l.v2_controllers.count(prefix)) want.insert(prefix);
    }
    if (!want.empty()) {
      std::vector<std::string> ls = levels(l.v2_mount, path_);
      enable_controllers(Dir(l.v2_mount, l), want);
      for (size_t i = 0; i + 1 < ls.size(); ++i) enable_controllers(Dir(ls[i], l), want);
    }
    apply_unified(Dir(l.v2_mount + path_, l), r.unified);
  }
}

// Every hierarchy directory of this cgroup: each v1 mount, then the v2 one.
static std::vector<std::string> all_dirs(const Layout& l, const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& root : l.v1_roots()) out.push_back(root + path);
  if (!l.v2_mount.empty()) out.push_back(l.v2_mount + path);
  return out;
}

void Cgroup::add_process(pid_t pid) {
  const std::string v = std::to_string(pid);
  for (const std::string& d : all_dirs(*layout_, path_)) Dir(d, *layout_).write("cgroup.procs", v);
}

// The processes of `dir` and of its child cgroups, as runc's GetAllPids.
static void collect_pids(const std::string& dir, std::set<pid_t>& out) {
  auto text = fs::read_file_if_exists(dir + "/cgroup.procs");
  if (!text) return;
  std::istringstream in(*text);
  long p;
  while (in >> p) out.insert(static_cast<pid_t>(p));
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // removed meanwhile
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && is_dir(dir + "/" + name)))
      children.push_back(dir + "/" + name);
  }
  ::closedir(d);
  for (const auto& c : children) collect_pids(c, out);
}

std::vector<pid_t> Cgroup::pids() const {
  std::set<pid_t> all;
  for (const std::string& d : all_dirs(*layout_, path_)) collect_pids(d, all);
  return {all.begin(), all.end()};
}

bool Cgroup::exists() const {
  for (const std::string& d : all_dirs(*layout_, path_))
    if (is_dir(d)) return true;
  return false;
}

void Cgroup::destroy() {
  const int64_t deadline = now_ms() + kDestroyWaitMs;
  std::string first_error;
  // Every hierarchy is tried, so that one busy directory does not leave the others behind.
  for (const std::string& d : all_dirs(*layout_, path_)) {
    try {
      rmdir_tree(d, !layout_->fake_root.empty(), deadline);
    } catch (const Error& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (!first_error.empty()) throw Error("remove cgroup " + path_ + ": " + first_error);
}

MemoryEvents Cgroup::memory_events() const {
  const Layout& l = *layout_;
  MemoryEvents ev;
  auto keyed = [](const std::string& text, const std::string& key) -> uint64_t {
    std::istringstream in(text);
    std::string k;
    uint64_t v;
    while (in >> k >> v)
      if (k == key) return v;
    return 0;
  };
  switch (route(l, memory_controller())) {
    case Route::v1: {
      Dir d(l.v1_mount("memory") + path_, l);
      ev.oom_kill = keyed(d.read("memory.oom_control"), "oom_kill");
      // With memory+swap limited too, the kernel may hit (and count) that limit first.
      ev.oom = d.read_u64("memory.failcnt");
      if (d.has("memory.memsw.failcnt")) ev.oom = std::max(ev.oom, d.read_u64("memory.memsw.failcnt"));
      ev.max_usage = d.read_u64("memory.max_usage_in_bytes");
      break;
    }
    case Route::v2: {
      Dir d(l.v2_mount + path_, l);
      std::string events = d.read("memory.events");
      ev.oom_kill = keyed(events, "oom_kill");
      ev.oom = keyed(events, "oom");
      if (d.has("memory.peak")) ev.max_usage = d.read_u64("memory.peak");
      break;
    }
    case Route::none:
      break;
  }
  return ev;
}

void Cgroup::set_frozen(bool frozen) {
  const Layout& l = *layout_;
  switch (route(l, freezer_controller())) {
    case Route::v1:
      set_frozen_v1(Dir(l.v1_mount("freezer") + path_, l), frozen);
      break;
    case Route::v2:
      set_frozen_v2(Dir(l.v2_mount + path_, l), frozen);
      break;
    case Route::none:
      throw Error(not_available_message(freezer_controller()));
  }
}

}  // namespace ecsa::cgroups
