#include "net/host_ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "net/ipv4.hpp"

namespace ecsa::net {

std::optional<HostPortRange> parse_host_port_range(const std::string& text) {
  std::string t = text;
  for (char& c : t)
    if (c == '\t' || c == ' ') c = '-';
  // ip_local_port_range separates with a tab; collapse runs of separators.
  std::string norm;
  for (char c : t)
    if (!(c == '-' && !norm.empty() && norm.back() == '-')) norm += c;
  while (!norm.empty() && (norm.back() == '-' || norm.back() == '\n')) norm.pop_back();
  auto dash = norm.find('-');
  if (dash == std::string::npos) return std::nullopt;
  std::string a = norm.substr(0, dash), b = norm.substr(dash + 1);
  auto num = [](const std::string& s) -> long {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
      return -1;
    return std::stol(s);
  };
  long first = num(a), last = num(b);
  if (first < 1 || last > 65535 || first > last) return std::nullopt;
  return HostPortRange{static_cast<uint16_t>(first), static_cast<uint16_t>(last)};
}

HostPortRange dynamic_host_port_range() {
  if (const char* env = getenv("ECS_DYNAMIC_HOST_PORT_RANGE"); env && *env) {
    if (auto r = parse_host_port_range(env)) return *r;
    log::warn(std::string("ECS_DYNAMIC_HOST_PORT_RANGE=\"") + env +
              "\" is not a valid range first-last; using the kernel's ephemeral range");
  }
  try {
    if (auto text = fs::read_file_if_exists("/proc/sys/net/ipv4/ip_local_port_range"))
      if (auto r = parse_host_port_range(*text)) return *r;
  } catch (const Error&) {
  }
  return HostPortRange{49153, 65535};
}

bool host_port_free(const std::string& protocol, const std::string& host_ip, uint16_t port) {
  bool tcp = protocol == "tcp";
  UniqueFd s(::socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("probe host port: socket");
  if (tcp) {
    // As Go's net.Listen: TIME_WAIT leftovers do not make a port busy.
    int one = 1;
    setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = host_ip.empty() ? htonl(INADDR_ANY) : htonl(parse_ipv4(host_ip, "host IP"));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return true;
  if (errno == EADDRINUSE || errno == EACCES) return false;
  if (errno == EADDRNOTAVAIL) throw Error("host IP " + host_ip + " is not an address of this host");
  throw_errno("probe host port " + std::to_string(port) + "/" + protocol);
}

namespace {

// Socket inodes bound to local `port` in /proc/net/<file> (tcp, tcp6, udp, udp6).
void socket_inodes(const std::string& file, uint16_t port, std::set<std::string>* out) {
  auto text = fs::read_file_if_exists("/proc/net/" + file);
  if (!text) return;
  std::istringstream in(*text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
    if (!(ls >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode))
      continue;
    auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (std::stoul(local.substr(colon + 1), nullptr, 16) != port) continue;
    // TCP: only listeners (0A) hold a port in the sense of "in use".
    if (file.rfind("tcp", 0) == 0 && st != "0A") continue;
    if (inode != "0") out->insert("socket:[" + inode + "]");
  }
}

}  // namespace

std::string host_port_holder(const std::string& protocol, uint16_t port) {
  std::set<std::string> inodes;
  socket_inodes(protocol, port, &inodes);
  socket_inodes(protocol + "6", port, &inodes);
  if (inodes.empty()) return "";
  for (const auto& pid : fs::list_dir("/proc")) {
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string fd_dir = "/proc/" + pid + "/fd";
    std::vector<std::string> fds;
    try {
      fds = fs::list_dir(fd_dir);
    } catch (const Error&) {
      continue;  // gone or not ours to read
    }
    for (const auto& fd : fds) {
      char target[64];
      ssize_t n = ::readlink((fd_dir + "/" + fd).c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      target[n] = 0;
      if (!inodes.count(target)) continue;
      std::string comm;
      try {
        comm = fs::read_file("/proc/" + pid + "/comm");
        while (!comm.empty() && comm.back() == '\n') comm.pop_back();
      } catch (const Error&) {
      }
      return "pid " + pid + (comm.empty() ? "" : " (" + comm + ")");
    }
  }
  return "";
}

}  // namespace ecsa::net
