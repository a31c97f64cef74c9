// Dir file operations and the list of controllers.
#include "cgroups/controller.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace ecsa::cgroups {

std::string Dir::file(std::string_view name) const {
  std::string p = path_;
  p += '/';
  p += name;
  return p;
}

void Dir::write(std::string_view name, const std::string& value) const {
  std::string p = file(name);
  if (!layout_->fake_root.empty()) {
    fake_kernel_write(*layout_, p, value);
    return;
  }
  // O_TRUNC as runc does; cgroupfs accepts it.
  UniqueFd fd(::open(p.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd) throw_errno("write " + value + " to " + p);
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("write " + value + " to " + p);
}

static std::string chomp(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Dir::read(std::string_view name) const { return chomp(fs::read_file(file(name))); }

std::optional<std::string> Dir::read_if_exists(std::string_view name) const {
  auto s = fs::read_file_if_exists(file(name));
  if (!s) return std::nullopt;
  return chomp(std::move(*s));
}

uint64_t Dir::read_u64(std::string_view name) const {
  std::string s = read(name);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0)
    throw Error(file(name) + ": expected a number, got \"" + s + "\"");
  return v;
}

bool Dir::has(std::string_view name) const {
  struct stat st;
  return ::stat(file(name).c_str(), &st) == 0;
}

Dir Dir::parent() const { return Dir(fs::dirname(path_), *layout_); }

const std::vector<const Controller*>& all_controllers() {
  // cpuset before the others: a v1 cpuset without cpus refuses tasks; memory before pids
  // and devices is arbitrary but stable, which keeps the write order testable.
  static const std::vector<const Controller*> list = {
      &cpuset_controller(), &cpu_controller(),     &memory_controller(),
      &pids_controller(),   &devices_controller(), &freezer_controller()};
  return list;
}

std::string not_available_message(const Controller& c) {
  return std::string(c.name()) + " cgroup controller not available (" + std::string(c.hint()) + ")";
}

}  // namespace ecsa::cgroups
