#include "runtime/cgroup_self_entry.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/fs.hpp"
#include "runtime/sync_channel.hpp"

namespace ecsa::runtime {

std::vector<std::string> self_entry_files(const cgroups::Layout& layout, const cgroups::Cgroup& cg,
                                          bool new_userns) {
  std::vector<std::string> files;
  if (new_userns || !layout.fake_root.empty()) return files;
  for (const std::string& root : layout.v1_roots()) files.push_back(root + cg.path() + "/tasks");
  return files;
}

void enter_cgroups_self(const std::vector<std::string>& tasks_files, int sync_fd) {
  for (const std::string& f : tasks_files) {
    int fd = open(f.c_str(), O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, "0", 1) == 1;
    int err = errno;
    if (fd >= 0) close(fd);
    if (ok) continue;
    // The parent reads it as the init's error (SyncChannel's format: type, then text).
    std::string msg = "enter cgroup: write 0 to " + f + ": " + std::strerror(err);
    uint32_t type = static_cast<uint32_t>(SyncMsg::error);
    std::string packet(reinterpret_cast<const char*>(&type), sizeof type);
    packet += msg;
    while (send(sync_fd, packet.data(), packet.size(), MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
    _exit(1);
  }
}

void attach_rest(cgroups::Cgroup& cg, const cgroups::Layout& layout,
                 const std::vector<std::string>& tasks_files, pid_t pid) {
  if (tasks_files.empty()) {
    cg.add_process(pid);
    return;
  }
  if (!layout.v2_mount.empty()) fs::write_existing(cg.dir("") + "/cgroup.procs", std::to_string(pid));
}

}  // namespace ecsa::runtime
