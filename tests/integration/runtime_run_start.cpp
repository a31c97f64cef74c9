// `run`'s own start path (runtime/run_start.hpp, runtime/cgroup_self_entry.hpp): the init
// enters its cgroup v1 hierarchies itself, waits on a pipe instead of the exec fifo, and
// `list` names the state directory's owner.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "tests/support/process_harness.hpp"

using namespace ecsa::test;
namespace fs = ecsa::fs;

TEST_CASE("run: the process starts in the container's cgroup in every hierarchy",
          "[integration][runtime]") {
  Bundle b;
  b.set_args({"cat", "/proc/self/cgroup"});
  CmdResult r = b.run();
  REQUIRE(r.code == 0);
  // Every line "N:controllers:path", v1 hierarchies and the cgroup2 one of a hybrid host.
  std::istringstream in(r.out);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    INFO(line);
    CHECK(line.substr(line.rfind(':') + 1) == "/ecsa/" + b.id());
  }
  CHECK(lines >= 2);
  REQUIRE_FALSE(fs::exists("/sys/fs/cgroup/memory/ecsa/" + b.id()));
}

TEST_CASE("run -d: running without an exec fifo; list names the owner; delete cleans up",
          "[integration][runtime]") {
  Bundle b;
  b.set_args({"sleep", "30"});
  b.write();
  CmdResult r = b.oci({"run", "-d", "--bundle", b.dir(), b.id()});
  REQUIRE(r.code == 0);
  const std::string state_dir = b.state_root() + "/" + b.id();
  CHECK(fs::exists(state_dir + "/state.json"));
  CHECK_FALSE(fs::exists(state_dir + "/exec.fifo"));
  CmdResult st = b.oci({"state", b.id()});
  CHECK(st.code == 0);
  CHECK(ecsa::json::Json::parse(st.out).value("status", "") == "running");
  CmdResult list = b.oci({"list", "--format", "json"});
  CHECK(list.code == 0);
  auto listed = ecsa::json::Json::parse(list.out);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].value("owner", "") == "root");
  CmdResult del = b.oci({"delete", "--force", b.id()});
  REQUIRE(del.code == 0);
  CHECK_FALSE(fs::exists(state_dir));
  CHECK_FALSE(fs::exists("/sys/fs/cgroup/memory/ecsa/" + b.id()));
}
