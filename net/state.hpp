// On-disk network state: one JSON file per container under <state>/net/containers, which is
// both the record of what was created and the reservation of its address and host ports,
// plus round-robin cursors. All changes happen under an exclusive flock of <state>/net/lock.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.hpp"
#include "net/network.hpp"

namespace ecsa::net {

// One published host port or contiguous run of ports.
struct PublishedPorts {
  std::string host_ip;  // "" = every host address
  std::string protocol;
  uint16_t host_port = 0, container_port = 0, count = 1;
};

struct ContainerNet {
  std::string id;
  std::string bridge, table;  // where its veth and nftables entries live
  std::string ip, gateway;
  int prefix_len = 0;
  std::string veth_host;
  pid_t netns_pid = 0;
  uint64_t netns_start_time = 0;  // of netns_pid, so a reused pid is not mistaken for it
  std::vector<PublishedPorts> ports;

  NetworkState to_network_state() const;
};

class StateDir {
 public:
  // `root` is <state>/net; created on first lock.
  explicit StateDir(std::string root);
  // $ECSA_STATE_DIR/net, default /var/lib/ecsa/net.
  static std::string default_root();

  const std::string& root() const { return root_; }

  // Exclusive lock for the lifetime of the returned fd.
  UniqueFd lock() const;

  // Files that cannot be read as state (torn by a power loss: they are written without
  // fsync, as everything they describe is gone after a reboot anyway) are skipped with a
  // warning, and their ids added to `unreadable` when given.
  std::vector<ContainerNet> load_all(std::vector<std::string>* unreadable = nullptr) const;
  std::optional<ContainerNet> load(const std::string& id) const;
  void save(const ContainerNet& c) const;
  void remove(const std::string& id) const;

  uint32_t cursor(const std::string& name) const;  // 0 when unset
  void set_cursor(const std::string& name, uint32_t value) const;

 private:
  std::string container_path(const std::string& id) const;
  std::string root_;
};

// Container ids become file names, link-name hashes and nftables comments: letters, digits,
// '_', '-', '.', not starting with '.', at most 128 characters.
void validate_container_id(const std::string& id);

// Start time of a process (field 22 of /proc/PID/stat), 0 if it does not exist.
uint64_t process_start_time(pid_t pid);

}  // namespace ecsa::net
