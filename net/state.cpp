#include "net/state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "common/log.hpp"

namespace ecsa::net {

void validate_container_id(const std::string& id) {
  if (id.empty()) throw Error("container id: empty");
  if (id.size() > 128) throw Error("container id \"" + id + "\": longer than 128 characters");
  if (id[0] == '.' || id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_-.") != std::string::npos)
    throw Error("container id \"" + id +
                "\": only letters, digits, '_', '-' and '.' are allowed (not leading '.')");
}

uint64_t process_start_time(pid_t pid) {
  auto stat = fs::read_file_if_exists("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  size_t pos = close + 2;
  for (int field = 3; field < 22; ++field) {
    pos = stat->find(' ', pos);
    if (pos == std::string::npos) return 0;
    ++pos;
  }
  return std::strtoull(stat->c_str() + pos, nullptr, 10);
}

NetworkState ContainerNet::to_network_state() const {
  NetworkState s;
  s.ip = ip;
  s.gateway = gateway;
  s.veth_host = veth_host;
  s.prefix_len = prefix_len;
  for (const auto& p : ports) {
    NetworkBinding b;
    b.bind_ip = p.host_ip.empty() ? "0.0.0.0" : p.host_ip;
    b.protocol = p.protocol;
    if (p.count > 1) {
      b.container_port_range =
          std::to_string(p.container_port) + "-" + std::to_string(p.container_port + p.count - 1);
      b.host_port_range =
          std::to_string(p.host_port) + "-" + std::to_string(p.host_port + p.count - 1);
    } else {
      b.container_port = p.container_port;
      b.host_port = p.host_port;
    }
    s.bindings.push_back(b);
  }
  return s;
}

StateDir::StateDir(std::string root) : root_(std::move(root)) {}

std::string StateDir::default_root() {
  const char* env = getenv("ECSA_STATE_DIR");
  return fs::join(env && *env ? env : "/var/lib/ecsa", "net");
}

UniqueFd StateDir::lock() const {
  fs::mkdir_p(fs::join(root_, "containers"), 0700);
  std::string path = fs::join(root_, "lock");
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw_errno("open " + path);
  while (flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("lock " + path);
  }
  return fd;
}

std::string StateDir::container_path(const std::string& id) const {
  return fs::join(fs::join(root_, "containers"), id + ".json");
}

namespace {

ContainerNet from_json(const std::string& text, const std::string& path) {
  auto doc = json::parse(text, path);
  json::Node n(doc, "");
  ContainerNet c;
  c.id = n.at("id").str();
  c.bridge = n.at("bridge").str();
  c.table = n.at("table").str();
  c.ip = n.at("ip").str();
  c.gateway = n.at("gateway").str();
  c.prefix_len = static_cast<int>(n.at("prefixLen").int_in(0, 32));
  c.veth_host = n.at("vethHost").str();
  c.netns_pid = static_cast<pid_t>(n.i64_or("netnsPid", 0));
  if (auto t = n.opt("netnsStartTime")) c.netns_start_time = t->u64();
  if (auto ports = n.opt("ports")) {
    for (const auto& p : ports->items()) {
      PublishedPorts pp;
      pp.host_ip = p.str_or("hostIp", "");
      pp.protocol = p.at("protocol").str();
      pp.host_port = static_cast<uint16_t>(p.at("hostPort").int_in(1, 65535));
      pp.container_port = static_cast<uint16_t>(p.at("containerPort").int_in(1, 65535));
      pp.count = static_cast<uint16_t>(p.at("count").int_in(1, 65535));
      c.ports.push_back(pp);
    }
  }
  return c;
}

std::string to_json(const ContainerNet& c) {
  json::Json j;
  j["id"] = c.id;
  j["bridge"] = c.bridge;
  j["table"] = c.table;
  j["ip"] = c.ip;
  j["gateway"] = c.gateway;
  j["prefixLen"] = c.prefix_len;
  j["vethHost"] = c.veth_host;
  j["netnsPid"] = c.netns_pid;
  j["netnsStartTime"] = c.netns_start_time;
  j["ports"] = json::Json::array();
  for (const auto& p : c.ports)
    j["ports"].push_back({{"hostIp", p.host_ip},
                          {"protocol", p.protocol},
                          {"hostPort", p.host_port},
                          {"containerPort", p.container_port},
                          {"count", p.count}});
  return j.dump(2) + "\n";
}

}  // namespace

std::optional<ContainerNet> StateDir::load(const std::string& id) const {
  std::string path = container_path(id);
  auto text = fs::read_file_if_exists(path);
  if (!text) return std::nullopt;
  try {
    return from_json(*text, path);
  } catch (const Error&) {
    rethrow_with_context(path);
  }
}

std::vector<ContainerNet> StateDir::load_all(std::vector<std::string>* unreadable) const {
  std::vector<ContainerNet> out;
  for (const auto& name : fs::list_dir(fs::join(root_, "containers"))) {
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    std::string id = name.substr(0, name.size() - 5);
    try {
      if (auto c = load(id)) out.push_back(*c);
    } catch (const Error& e) {
      log::warn(std::string("net: skipping unreadable state: ") + e.what());
      if (unreadable) unreadable->push_back(id);
    }
  }
  return out;
}

void StateDir::save(const ContainerNet& c) const {
  // Not durable (no fsync, ~ms on a disk): the links, addresses and rules it describes do
  // not survive a reboot either; a file torn by a power loss is skipped and removed.
  fs::write_file_atomic(container_path(c.id), to_json(c), 0600, false);
}

void StateDir::remove(const std::string& id) const {
  std::string path = container_path(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("remove " + path);
}

uint32_t StateDir::cursor(const std::string& name) const {
  auto text = fs::read_file_if_exists(fs::join(root_, name));
  if (!text) return 0;
  return static_cast<uint32_t>(std::strtoul(text->c_str(), nullptr, 10));
}

void StateDir::set_cursor(const std::string& name, uint32_t value) const {
  // A lost or torn cursor only changes where the round-robin search starts, and only
  // lock holders read it: overwritten in place, no temporary file, rename or fsync.
  std::string path = fs::join(root_, name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw_errno("open " + path);
  char v[16];
  int n = std::snprintf(v, sizeof v, "%-10u\n", value);  // fixed width: no truncate
  if (::pwrite(fd.get(), v, static_cast<size_t>(n), 0) != n) throw_errno("write " + path);
}

}  // namespace ecsa::net
