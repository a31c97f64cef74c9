// A tiny HTTP/1.1 server on 127.0.0.1 for registry tests: a handler answers each request
// and every request is recorded (method, path, headers) so tests can check what a client
// sent, e.g. that no Authorization header followed a redirect to another port.
// One connection at a time, "Connection: close" on every reply.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ecsa::test {

struct HttpExchange {
  std::string method;
  std::string target;  // path with query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string path() const { return target.substr(0, target.find('?')); }
  bool has(const std::string& h) const { return headers.count(h) > 0; }
  std::string header(const std::string& h) const {
    auto it = headers.find(h);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Send only this many body bytes (Content-Length still announces all), then close:
  // a connection that breaks mid-transfer.
  long long cut_after = -1;
};

class LoopbackHttpServer {
 public:
  using Handler = std::function<HttpReply(const HttpExchange&)>;
  explicit LoopbackHttpServer(Handler h);
  ~LoopbackHttpServer();
  LoopbackHttpServer(const LoopbackHttpServer&) = delete;
  LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::vector<HttpExchange> requests();
  void clear_requests();

 private:
  void serve();
  void handle(int fd);
  Handler handler_;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  int port_ = 0;
  std::mutex mu_;
  std::vector<HttpExchange> requests_;
  std::thread thread_;
};

}  // namespace ecsa::test
