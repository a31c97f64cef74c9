// `ecsa-run run IMAGE` end to end: a real registry on 127.0.0.1, a pull into a temporary
// store, a container with a dynamic host port, a real HTTP request to it, and cleanup.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.hpp"
#include "tests/support/process_harness.hpp"
#include "tests/support/registry.hpp"

using ecsa::test::CmdResult;

namespace {
// A store, runtime root, bridge and subnet of the test's own; its containers are removed at
// the end even when an assertion fails.
struct Env : ecsa::test::IsolatedEcsa {
  Env() : IsolatedEcsa("ecsa-runimg", "ecsar", 220) {}
  ~Env() {
    for (const auto& line : ecsa::test::split_lines(ecsa({"ps", "-a", "-q", "--root", root}).out))
      ecsa({"rm", "-f", "--root", root, line});
  }
};
}  // namespace

TEST_CASE("run IMAGE pulls, merges the image config and propagates the exit status",
          "[integration][ecs]") {
  if (!ecsa::test::registry_tools_available()) {
    WARN("registry tools missing: run `make deps`");
    return;
  }
  ecsa::test::TestRegistry reg;
  reg.push_fixtures();
  Env env;
  std::string image = reg.host() + "/busybox:latest";
  CmdResult r =
      env.ecsa({"run", "--root", env.root, "--rm", "--progress", "none", "-e", "GREETING=hi", "-w",
                "/tmp", "-u", "nobody", "--hostname", "box", image, "sh", "-c",
                "echo $GREETING from $(hostname) in $(pwd) as $(id -un); exit 7"});
  INFO(r.err);
  REQUIRE(r.code == 7);
  REQUIRE(r.out == "hi from box in /tmp as nobody\n");
  // --rm: nothing left of the container.
  REQUIRE(env.ecsa({"ps", "-a", "--root", env.root, "-q"}).out.empty());
  REQUIRE(ecsa::fs::list_dir(env.state + "/launched").empty());

  CmdResult bad =
      env.ecsa({"run", "--root", env.root, "--progress", "none", reg.host() + "/nope:1", "true"});
  REQUIRE(bad.code == 1);
  REQUIRE(bad.err.find("ecsa-run: CannotPullContainerError: ") == 0);
}

TEST_CASE("run -d -p 0:80 serves HTTP on a dynamic host port", "[integration][ecs][net]") {
  if (!ecsa::test::registry_tools_available()) {
    WARN("registry tools missing: run `make deps`");
    return;
  }
  ecsa::test::TestRegistry reg;
  reg.push_fixtures();
  Env env;
  std::string id = ecsa::test::unique_id("web");
  CmdResult r = env.ecsa(
      {"run", "--root", env.root, "-d", "--progress", "none", "--name", id, "-p", "0:80",
       reg.host() + "/busybox:latest", "sh", "-c",
       "mkdir -p /www && echo hello-ecsa > /www/index.html && exec httpd -f -p 80 -h /www"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out == id + "\n");
  auto bindings =
      nlohmann::json::parse(env.ecsa({"port", "--root", env.root, "--format", "json", id}).out);
  REQUIRE(bindings.size() == 1);
  REQUIRE(bindings[0]["containerPort"] == 80);
  REQUIRE(bindings[0]["protocol"] == "tcp");
  int port = bindings[0]["hostPort"];
  REQUIRE(port > 0);
  std::string body;
  for (int i = 0; i < 50 && body.empty(); ++i) {
    body = ecsa::test::http_get_local(port);
    if (body.empty()) usleep(100000);
  }
  REQUIRE(body == "hello-ecsa\n");
  auto ps = nlohmann::json::parse(env.ecsa({"ps", "--root", env.root, "--format", "json"}).out);
  REQUIRE(ps.size() == 1);
  REQUIRE(ps[0]["status"] == "running");
  // The runtime's state document carries the bindings too.
  auto state = nlohmann::json::parse(env.ecsa({"oci", "--root", env.root, "state", id}).out);
  REQUIRE(state["networkBindings"][0]["hostPort"] == port);
  // --network container:ID shares the namespace: the server answers on 127.0.0.1 there, and
  // /etc/hosts is the other container's.
  CmdResult shared =
      env.ecsa({"run", "--root", env.root, "--rm", "--progress", "none", "--network",
                "container:" + id, reg.host() + "/busybox:latest", "sh", "-c",
                "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80; cat /etc/hosts"});
  INFO(shared.err);
  REQUIRE(shared.code == 0);
  REQUIRE(shared.out.find("hello-ecsa") != std::string::npos);
  REQUIRE(shared.out.find(id) != std::string::npos);
  CmdResult gone = env.ecsa({"run", "--root", env.root, "--rm", "--progress", "none", "--network",
                             "container:nosuch", reg.host() + "/busybox:latest", "true"});
  REQUIRE(gone.code == 1);
  REQUIRE(gone.err.find("network container:nosuch: no such container") != std::string::npos);
  REQUIRE(env.ecsa({"stop", "--root", env.root, "-t", "2", id}).code == 0);
  REQUIRE(env.ecsa({"rm", "--root", env.root, id}).code == 0);
  // Nothing of ours remains for that container: no rule, no state.
  REQUIRE(ecsa::test::run_cmd({"/usr/sbin/nft", "list", "ruleset"}).out.find(id) ==
          std::string::npos);
  REQUIRE(env.ecsa({"ps", "-a", "--root", env.root, "-q"}).out.empty());
}
