#include "runtime/state.hpp"

#include <sys/stat.h>
#include <time.h>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::runtime {

const char* status_name(Status s) {
  switch (s) {
    case Status::creating: return "creating";
    case Status::created: return "created";
    case Status::running: return "running";
    case Status::stopped: return "stopped";
  }
  return "unknown";
}

json::Json ContainerState::to_json() const {
  return {{"id", id},           {"pid", pid},         {"pidStartTime", pid_start_time},
          {"bundle", bundle},   {"rootfs", rootfs},   {"created", created},
          {"owner", owner},     {"annotations", annotations}, {"cgroupPath", cgroup_path},
          {"poststopHooks", poststop_hooks}, {"extra", extra}};
}

ContainerState ContainerState::from_json(const json::Json& j, const std::string& path) {
  json::Node n(j, "");
  ContainerState s;
  try {
    s.id = n.at("id").str();
    s.pid = static_cast<pid_t>(n.at("pid").i64());
    s.pid_start_time = n.at("pidStartTime").u64();
    s.bundle = n.at("bundle").str();
    s.rootfs = n.str_or("rootfs", "");
    s.created = n.str_or("created", "");
    s.owner = n.str_or("owner", "");
    if (auto a = n.opt("annotations")) s.annotations = a->string_map();
    s.cgroup_path = n.str_or("cgroupPath", "");
    if (auto h = n.opt("poststopHooks")) s.poststop_hooks = h->raw();
    if (auto e = n.opt("extra")) s.extra = e->raw();
  } catch (const Error&) {
    rethrow_with_context(path);
  }
  return s;
}

StateDir::StateDir(std::string root, std::string id)
    : root_(std::move(root)), id_(std::move(id)), dir_(fs::join(root_, id_)) {}

bool StateDir::exists() const { return fs::exists(dir_ + "/state.json"); }

ContainerState StateDir::load() const {
  std::string path = dir_ + "/state.json";
  auto text = fs::read_file_if_exists(path);
  if (!text) throw Error("container " + id_ + " does not exist");
  return ContainerState::from_json(json::parse(*text, path), path);
}

void StateDir::save(const ContainerState& s) const {
  // Runtime state lives in /run and does not outlive a reboot: atomic, but no fsync.
  fs::write_file_atomic(dir_ + "/state.json", s.to_json().dump(), 0600, false);
}

void StateDir::remove() const { fs::remove_all(dir_); }

void validate_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.size() > 1024)
    throw Error("invalid container id \"" + id + "\"");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) throw Error("invalid container id \"" + id + "\": only [A-Za-z0-9_+.-] allowed");
  }
}

namespace {
// Fields of /proc/<pid>/stat after the command name: state is field 3, starttime field 22.
bool read_stat(pid_t pid, char* state, uint64_t* start) {
  auto text = fs::read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return false;
  auto rp = text->rfind(')');
  if (rp == std::string::npos || rp + 2 >= text->size()) return false;
  const char* p = text->c_str() + rp + 2;
  *state = *p;
  // skip to field 22 (we are at field 3)
  int field = 3;
  while (*p && field < 22) {
    if (*p == ' ') ++field;
    ++p;
  }
  *start = strtoull(p, nullptr, 10);
  return true;
}
}  // namespace

uint64_t process_start_time(pid_t pid) {
  char st;
  uint64_t start = 0;
  try {
    if (!read_stat(pid, &st, &start)) return 0;
  } catch (const Error&) {
    return 0;
  }
  return start;
}

bool process_alive(pid_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  char st = 0;
  uint64_t start = 0;
  try {
    if (!read_stat(pid, &st, &start)) return false;
  } catch (const Error&) {
    return false;
  }
  if (st == 'Z' || st == 'X') return false;
  return start_time == 0 || start == start_time;
}

Status current_status(const StateDir& dir, const ContainerState& s) {
  if (!process_alive(s.pid, s.pid_start_time)) return Status::stopped;
  return fs::exists(dir.fifo_path()) ? Status::created : Status::running;
}


}  // namespace ecsa::runtime
