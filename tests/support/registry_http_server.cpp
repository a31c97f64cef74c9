#include "tests/support/registry_http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <stdexcept>

#include "common/error.hpp"

namespace ecsa::test {

LoopbackHttpServer::LoopbackHttpServer(Handler h) : handler_(std::move(h)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw_errno("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listen_fd_, 64) != 0) {
    close(listen_fd_);
    throw_errno("bind/listen 127.0.0.1");
  }
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  if (pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    close(listen_fd_);
    throw_errno("pipe");
  }
  thread_ = std::thread([this] { serve(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
  if (write(stop_pipe_[1], "x", 1) < 0) {
  }
  thread_.join();
  close(listen_fd_);
  close(stop_pipe_[0]);
  close(stop_pipe_[1]);
}

std::vector<HttpExchange> LoopbackHttpServer::requests() {
  std::lock_guard<std::mutex> lk(mu_);
  return requests_;
}

void LoopbackHttpServer::clear_requests() {
  std::lock_guard<std::mutex> lk(mu_);
  requests_.clear();
}

void LoopbackHttpServer::serve() {
  while (true) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    try {
      handle(fd);
    } catch (const std::exception&) {
    }
    close(fd);
  }
}

namespace {
bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}
}  // namespace

void LoopbackHttpServer::handle(int fd) {
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string in;
  char buf[8192];
  size_t end;
  while ((end = in.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    in.append(buf, size_t(n));
    if (in.size() > (1 << 20)) return;
  }
  HttpExchange ex;
  std::string head = in.substr(0, end);
  size_t line_end = head.find("\r\n");
  std::string first = head.substr(0, line_end);
  auto sp1 = first.find(' '), sp2 = first.rfind(' ');
  ex.method = first.substr(0, sp1);
  ex.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    if (e == std::string::npos) e = head.size();
    std::string line = head.substr(pos, e - pos);
    pos = e + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name;
    for (char c : line.substr(0, colon)) name += char(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    ex.headers[name] = value;
  }
  ex.body = in.substr(end + 4);
  size_t want = ex.has("content-length") ? std::stoul(ex.header("content-length")) : 0;
  while (ex.body.size() < want) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    ex.body.append(buf, size_t(n));
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    requests_.push_back(ex);
  }
  HttpReply r = handler_(ex);
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\n";
  bool has_ct = false;
  for (const auto& [k, v] : r.headers) {
    out += k + ": " + v + "\r\n";
    if (k == "Content-Type") has_ct = true;
  }
  if (!has_ct) out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!send_all(fd, out.data(), out.size())) return;
  if (ex.method == "HEAD") return;
  size_t n = r.cut_after >= 0 ? std::min(size_t(r.cut_after), r.body.size()) : r.body.size();
  send_all(fd, r.body.data(), n);
  if (r.cut_after >= 0) {
    // An abortive close (RST) so the client sees a broken transfer at once.
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
}

}  // namespace ecsa::test
