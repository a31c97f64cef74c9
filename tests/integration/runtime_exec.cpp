// exec into real running containers (busybox fixture), through `ecsa-runc exec` and the
// library call, and the minimal init ("ecsa.init": "true"): checked from inside and outside.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/exec.hpp"
#include "tests/support/process_harness.hpp"

using ecsa::test::Bundle;
using ecsa::test::CmdResult;
namespace fs = ecsa::fs;
namespace rt = ecsa::runtime;

namespace {

// A detached container of the bundle, deleted (forced) when the test ends, passed or not.
class Detached {
 public:
  explicit Detached(Bundle& b) : b_(b) {
    b.write();
    CmdResult r = b.oci({"run", "-d", "--bundle", b.dir(), b.id()});
    INFO(r.err);
    REQUIRE(r.code == 0);
  }
  ~Detached() { b_.oci({"delete", "--force", b_.id()}); }
  pid_t init_pid() const { return nlohmann::json::parse(b_.oci({"state", b_.id()}).out)["pid"].get<pid_t>(); }

 private:
  Bundle& b_;
};

std::string ns_of(pid_t pid, const char* ns) {
  char buf[128];
  std::string path = "/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/ns/" + ns;
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Runs exec_process with stdout/stderr to a pipe; returns (exit code, output).
std::pair<int, std::string> lib_exec(rt::ExecOptions o) {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  o.stdio[1] = p[1];
  o.stdio[2] = p[1];
  pid_t pid;
  try {
    pid = rt::exec_process(o);
  } catch (...) {
    close(p[0]);
    close(p[1]);
    throw;
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

}  // namespace

TEST_CASE("exec joins the container's namespaces, mounts and cgroup", "[integration][runtime][exec]") {
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  b.set_args({"sleep", "1000"});
  Detached c(b);
  pid_t init = c.init_pid();

  // A file written by one exec is seen by the next: the same tmpfs in the same mount namespace.
  REQUIRE(b.oci({"exec", b.id(), "sh", "-c", "echo marker > /scratch/m"}).code == 0);
  CmdResult r = b.oci({"exec", b.id(), "sh", "-c",
                       "hostname; cat /scratch/m; tr '\\0' ' ' < /proc/1/cmdline; echo; echo pid=$$; "
                       "for n in net uts ipc mnt; do readlink /proc/self/ns/$n; done; "
                       "cat /proc/self/cgroup"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(contains(r.out, "busybox\nmarker\nsleep 1000 \n"));
  REQUIRE_FALSE(contains(r.out, "pid=1\n"));
  for (const char* ns : {"net", "uts", "ipc", "mnt"}) {
    std::string want = ns_of(init, ns);
    REQUIRE_FALSE(want.empty());
    REQUIRE(want != ns_of(0, ns));
    CHECK(contains(r.out, want + "\n"));
  }
  // Every cgroup line of the exec'd process names the container's cgroup.
  auto cg = fs::read_file("/proc/" + std::to_string(init) + "/cgroup");
  CHECK(contains(cg, "/ecsa/" + b.id()));
  CHECK(contains(r.out, ":memory:/ecsa/" + b.id() + "\n"));
  CHECK(contains(r.out, ":pids:/ecsa/" + b.id() + "\n"));
}

TEST_CASE("exec gets the container process's user, capabilities, rlimits, env and cwd",
          "[integration][runtime][exec]") {
  Bundle b;
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}};
  b.config["process"]["cwd"] = "/tmp";
  b.config["process"]["env"].push_back("FOO=config");
  // Inheritable too, so that the ambient set carries the capabilities across exec as uid 1000.
  b.config["process"]["capabilities"]["inheritable"] = b.config["process"]["capabilities"]["bounding"];
  b.set_args({"sleep", "1000"});
  Detached c(b);

  CmdResult r = b.oci({"exec", b.id(), "sh", "-c",
                       "probe ids; probe caps; probe status NoNewPrivs; probe rlimit NOFILE; probe cwd; "
                       "echo FOO=$FOO TERM=$TERM; probe fds"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "uid=1000 gid=1000 groups=10,20\n"));
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29) as in the fixture config.
  CHECK(contains(r.out, "CapEff:\t0000000020000420\n"));
  CHECK(contains(r.out, "CapBnd:\t0000000020000420\n"));
  CHECK(contains(r.out, "NoNewPrivs:\t1\n"));
  CHECK(contains(r.out, "NOFILE 1024 1024\n"));
  CHECK(contains(r.out, "/tmp\nFOO=config TERM=xterm\n"));
  // Only stdio: nothing of ecsa-run or of the test reaches the process.
  CHECK(contains(r.out, "0 -> "));
  CHECK_FALSE(contains(r.out, "3 -> "));

  CmdResult o = b.oci({"exec", "--user", "2000:3000", "--cwd", "/etc", "--env", "FOO=flag", "--env", "BAR=1",
                       b.id(), "sh", "-c", "probe ids; probe cwd; echo FOO=$FOO BAR=$BAR TERM=$TERM"});
  INFO(o.out << o.err);
  REQUIRE(o.code == 0);
  CHECK(contains(o.out, "uid=2000 gid=3000 groups=10,20\n/etc\nFOO=flag BAR=1 TERM=xterm\n"));

  // --process: an OCI process object replaces the command line.
  std::string pj = b.scratch() + "/process.json";
  fs::write_file_atomic(pj, R"({"args": ["sh", "-c", "probe ids; probe cwd; echo X=$X TERM=$TERM"],
                               "env": ["X=1"], "cwd": "/", "user": {"uid": 7, "gid": 8}})");
  CmdResult p = b.oci({"exec", "--process", pj, b.id()});
  INFO(p.out << p.err);
  REQUIRE(p.code == 0);
  CHECK(contains(p.out, "uid=7 gid=8 groups=10,20\n/\nX=1 TERM=\n"));
}

TEST_CASE("exec exit status, errors and stopped containers", "[integration][runtime][exec]") {
  Bundle b;
  b.set_args({"sleep", "1000"});
  {
    Detached c(b);
    CHECK(b.oci({"exec", b.id(), "sh", "-c", "exit 7"}).code == 7);
    CHECK(b.oci({"exec", b.id(), "sh", "-c", "kill -9 $$"}).code == 137);
    CmdResult m = b.oci({"exec", b.id(), "nosuchcmd", "x"});
    CHECK(m.code == 1);
    CHECK(contains(m.err, "exec " + b.id() + ": exec nosuchcmd: No such file or directory"));
    CmdResult m2 = b.oci({"exec", b.id(), "/bin/nosuch"});
    CHECK(contains(m2.err, "exec /bin/nosuch: No such file or directory"));
    CmdResult tty = b.oci({"exec", "-t", b.id(), "sh"});
    CHECK(tty.code == 1);
    CHECK(contains(tty.err, "not supported"));
    // -d with --pid-file: the process runs on after exec returns.
    std::string pid_file = b.scratch() + "/exec.pid";
    REQUIRE(b.oci({"exec", "-d", "--pid-file", pid_file, b.id(), "sleep", "1000"}).code == 0);
    pid_t pid = std::stoi(fs::read_file(pid_file));
    REQUIRE(kill(pid, 0) == 0);
    auto ps = nlohmann::json::parse(b.oci({"ps", "--format", "json", b.id()}).out);
    CHECK(ps.size() == 2);
    REQUIRE(b.oci({"kill", b.id(), "KILL"}).code == 0);
    // The container stopped: exec refuses.
    std::string status;
    for (int i = 0; i < 300 && status != "stopped"; ++i) {
      usleep(10000);
      status = nlohmann::json::parse(b.oci({"state", b.id()}).out)["status"];
    }
    REQUIRE(status == "stopped");
    CmdResult st = b.oci({"exec", b.id(), "true"});
    CHECK(st.code == 1);
    CHECK(contains(st.err, "exec " + b.id() + ": container " + b.id() + " is not running"));
  }
  CmdResult none = b.oci({"exec", "no-such-container", "true"});
  CHECK(none.code == 1);
  CHECK(contains(none.err, "container no-such-container does not exist"));
}

TEST_CASE("exec_process: a waitpid-able child in the container", "[integration][runtime][exec]") {
  Bundle b;
  b.config["process"]["cwd"] = "/tmp";
  b.set_args({"sleep", "1000"});
  Detached c(b);
  pid_t init = c.init_pid();

  rt::ExecOptions o;
  o.root = b.state_root();
  o.id = b.id();
  o.args = {"sh", "-c", "probe cwd; echo TERM=$TERM; probe ids; probe fds; exit 3"};
  auto [code, out] = lib_exec(o);
  INFO(out);
  CHECK(code == 3);
  CHECK(contains(out, "/tmp\nTERM=xterm\nuid=0 gid=0"));
  CHECK_FALSE(contains(out, "3 -> "));

  o.args = {"sh", "-c", "probe cwd; echo TERM=$TERM A=$A; probe ids"};
  o.env = {"A=b", "PATH=/usr/bin:/bin"};
  o.cwd = "/etc";
  o.uid = 5;
  o.gid = 6;
  o.additional_gids = {7};
  auto [code2, out2] = lib_exec(o);
  INFO(out2);
  CHECK(code2 == 0);
  CHECK(contains(out2, "/etc\nTERM= A=b\nuid=5 gid=6 groups=7\n"));

  // Joined from the outside: same namespaces as the init, pid included.
  o = {};
  o.root = b.state_root();
  o.id = b.id();
  o.args = {"sleep", "1000"};
  pid_t pid = rt::exec_process(o);
  for (const char* ns : {"pid", "net", "uts", "ipc", "mnt"}) CHECK(ns_of(pid, ns) == ns_of(init, ns));
  CHECK(ns_of(0, "pid") == ns_of(0, "pid_for_children"));  // the caller's own children are unchanged
  CHECK(kill(pid, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));

  o.args = {"nosuch"};
  REQUIRE_THROWS_WITH(rt::exec_process(o), Catch::Contains("exec nosuch: No such file or directory"));
  o.id = "nope";
  REQUIRE_THROWS_WITH(rt::exec_process(o), Catch::Contains("exec nope: container nope does not exist"));
}

TEST_CASE("ecsa.init: PID 1 reaps orphans and the process runs as PID 2", "[integration][runtime][init]") {
  Bundle b;
  b.config["annotations"] = {{"ecsa.init", "true"}};
  // The backgrounded sleep is orphaned when its subshell exits: PID 1 inherits and must reap it.
  b.set_args({"sh", "-c",
              "echo pid=$$; echo cmdline=$(tr '\\0' ' ' < /proc/1/cmdline); (sleep 0.1 &); sleep 1; "
              "z=0; for s in /proc/[0-9]*/stat; do read -r l < $s 2>/dev/null; "
              "case \"${l##*) }\" in Z*) z=$((z+1));; esac; done; echo zombies=$z; probe fds; exit 5"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  CHECK(r.code == 5);
  CHECK(contains(r.out, "pid=2\n"));
  CHECK(contains(r.out, "cmdline=ecsa-init\n"));
  CHECK(contains(r.out, "zombies=0\n"));
  CHECK_FALSE(contains(r.out, "3 -> "));
  REQUIRE_FALSE(fs::exists(b.state_root() + "/" + b.id()));

  b.set_args({"sh", "-c", "kill -9 $$"});
  CHECK(b.run().code == 137);
}

TEST_CASE("ecsa.init: SIGTERM to the container reaches the process", "[integration][runtime][init]") {
  Bundle b;
  b.config["annotations"] = {{"ecsa.init", "true"}};
  // sleep installs no handler: as PID 1 it would ignore SIGTERM; as PID 2 it dies of it.
  b.set_args({"sleep", "100"});
  CmdResult r;
  std::thread runner([&] { r = b.run(); });
  // Two processes in the container: the init has forked and takes signals (before, as a
  // PID 1 without handlers, it would drop them).
  bool split = false;
  for (int i = 0; i < 500 && !split; ++i) {
    usleep(10000);
    auto ps = b.oci({"ps", "--format", "json", b.id()});
    split = ps.code == 0 && nlohmann::json::parse(ps.out).size() == 2;
  }
  bool killed = split && b.oci({"kill", b.id(), "TERM"}).code == 0;
  if (!killed) b.oci({"kill", b.id(), "KILL"});
  runner.join();
  REQUIRE(killed);
  CHECK(r.code == 143);
}

TEST_CASE("ecsa.init: exec into a container with an init", "[integration][runtime][init][exec]") {
  Bundle b;
  b.config["annotations"] = {{"ecsa.init", "true"}};
  b.set_args({"sleep", "1000"});
  Detached c(b);
  pid_t init = c.init_pid();
  // The init holds no host descriptor and not the runtime's command line.
  std::string fds;
  for (const auto& n : fs::list_dir("/proc/" + std::to_string(init) + "/fd")) fds += n + " ";
  CHECK(fds.size() == 6);  // "0 1 2 " in some order
  CmdResult r = b.oci({"exec", b.id(), "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; echo; tr '\\0' ' ' < /proc/2/cmdline"});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out == "ecsa-init \nsleep 1000 ");  // the title with its NUL
}

TEST_CASE("exec joins a user and a cgroup namespace and gets the seccomp filter",
          "[integration][runtime][exec]") {
  Bundle b;
  b.config["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  b.config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  auto& mounts = b.config["mounts"];
  for (size_t i = mounts.size(); i-- > 0;)
    if (mounts[i]["type"] == "cgroup") mounts.erase(i);
  b.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}}};
  b.set_args({"sleep", "1000"});
  Detached c(b);
  pid_t init = c.init_pid();

  CmdResult r = b.oci({"exec", "--user", "5:6", b.id(), "sh", "-c",
                       "cat /proc/self/uid_map; probe ids; cat /proc/self/cgroup | grep memory; "
                       "probe syscall-mkdir /tmp/x; probe status Seccomp"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(contains(r.out, "100000"));
  CHECK(contains(r.out, "uid=5 gid=6"));
  CHECK(contains(r.out, ":memory:/\n"));  // the container's cgroup is its cgroupns root
  CHECK(contains(r.out, "\n38\nSeccomp:\t2\n"));

  rt::ExecOptions o;
  o.root = b.state_root();
  o.id = b.id();
  o.args = {"sleep", "1000"};
  pid_t pid = rt::exec_process(o);
  for (const char* ns : {"user", "cgroup", "pid", "mnt", "net"}) CHECK(ns_of(pid, ns) == ns_of(init, ns));
  // Host uid of container uid 0.
  auto status = fs::read_file("/proc/" + std::to_string(pid) + "/status");
  CHECK(contains(status, "Uid:\t100000\t100000\t100000\t100000\n"));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}
