#include "ecs/task_volumes.hpp"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace ecsa::ecs {

namespace {

std::string opt(const Volume& v, const char* key) {
  auto it = v.driver_opts.find(key);
  return it == v.driver_opts.end() ? "" : it->second;
}

bool is_mount_point(const std::string& dir) {
  struct stat a {
  }, b{};
  if (::stat(dir.c_str(), &a) != 0 || ::stat((dir + "/..").c_str(), &b) != 0) return false;
  return a.st_dev != b.st_dev;
}

// Docker's local driver: "type", "device", "o" become mount(device, dir, type, flags, data);
// "o" may hold bind/ro flags that are mount flags rather than data.
void mount_local_volume(const Volume& v, const std::string& dir) {
  std::string type = opt(v, "type"), device = opt(v, "device"), o = opt(v, "o");
  if (type.empty() && device.empty()) return;
  unsigned long flags = 0;
  std::string data;
  size_t start = 0;
  while (start <= o.size() && !o.empty()) {
    size_t comma = o.find(',', start);
    std::string item =
        o.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item == "bind")
      flags |= MS_BIND;
    else if (item == "rbind")
      flags |= MS_BIND | MS_REC;
    else if (item == "ro")
      flags |= MS_RDONLY;
    else if (!item.empty())
      data += (data.empty() ? "" : ",") + item;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (device.empty()) device = type;
  if (::mount(device.c_str(), dir.c_str(), type.empty() ? nullptr : type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0)
    throw_errno("volume " + v.name + ": mount " + device + " (type " +
                (type.empty() ? "none" : type) + ", o=" + o + ") on " + dir);
}

void remove_volume_dir(const std::string& dir) {
  if (is_mount_point(dir) && ::umount2(dir.c_str(), MNT_DETACH) != 0 && errno != EINVAL &&
      errno != ENOENT)
    throw_errno("umount " + dir);
  fs::remove_all(dir);
}

}  // namespace

std::string shared_volumes_dir(const std::string& store_root) {
  return fs::join(store_root, "volumes");
}

std::map<std::string, std::string> prepare_task_volumes(const TaskPlan& plan,
                                                        const std::string& task_volumes_dir,
                                                        const std::string& store_root) {
  std::map<std::string, std::string> out;
  std::vector<std::string> made;
  try {
    for (const auto& v : plan.volumes) {
      switch (v.kind) {
        case Volume::Kind::host:
          // Docker creates a missing bind source as a directory.
          if (!fs::exists(v.host_path)) fs::mkdir_p(v.host_path, 0755);
          out[v.name] = v.host_path;
          break;
        case Volume::Kind::task_local: {
          std::string dir = task_volumes_dir + "/" + v.name;
          fs::mkdir_p(dir, 0755);
          made.push_back(dir);
          out[v.name] = dir;
          break;
        }
        case Volume::Kind::docker: {
          if (v.driver != "local")
            throw Error("volume " + v.name + ": driver \"" + v.driver +
                        "\" is not supported (only \"local\")");
          bool shared = v.scope == "shared";
          std::string dir =
              (shared ? shared_volumes_dir(store_root) : task_volumes_dir) + "/" + v.name;
          bool existed = fs::is_dir(dir);
          if (shared && !existed && !v.autoprovision)
            throw Error("volume " + v.name +
                        ": shared volume does not exist and autoprovision is false");
          fs::mkdir_p(dir, 0755);
          if (!shared) made.push_back(dir);
          if (!is_mount_point(dir)) mount_local_volume(v, dir);
          out[v.name] = dir;
          break;
        }
      }
    }
  } catch (...) {
    for (const auto& d : made) {
      try {
        remove_volume_dir(d);
      } catch (const std::exception& e) {
        log::warn(std::string("cleanup: ") + e.what());
      }
    }
    throw;
  }
  return out;
}

void remove_task_volumes(const TaskPlan& plan, const std::string& task_volumes_dir) {
  std::string first_error;
  for (const auto& v : plan.volumes) {
    if (v.kind == Volume::Kind::host || (v.kind == Volume::Kind::docker && v.scope == "shared"))
      continue;
    try {
      remove_volume_dir(task_volumes_dir + "/" + v.name);
    } catch (const std::exception& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (!first_error.empty()) throw Error("remove task volumes: " + first_error);
}

}  // namespace ecsa::ecs
