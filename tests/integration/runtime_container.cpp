// Real containers from the busybox fixture, checked from inside: what the OCI config asks for
// is what the process sees.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <catch2/catch.hpp>
#include <thread>

#include "common/fs.hpp"
#include "runtime/capabilities.hpp"
#include "tests/support/process_harness.hpp"

using ecsa::test::Bundle;
using ecsa::test::CmdResult;
namespace fs = ecsa::fs;

namespace {
std::string cgroup_v1_dir(const char* controller, const std::string& id) {
  return std::string("/sys/fs/cgroup/") + controller + "/ecsa/" + id;
}
}  // namespace

TEST_CASE("container runs as PID 1 with its hostname and exit status", "[integration][runtime]") {
  Bundle b;
  b.config["hostname"] = "box1";
  b.set_args({"sh", "-c", "echo pid=$$; hostname; exit 42"});
  CmdResult r = b.run();
  INFO(r.err);
  REQUIRE(r.code == 42);
  REQUIRE(r.out == "pid=1\nbox1\n");
  // Nothing left behind: no state, no cgroup.
  REQUIRE_FALSE(fs::exists(b.state_root() + "/" + b.id()));
  REQUIRE_FALSE(fs::exists(cgroup_v1_dir("memory", b.id())));
}

TEST_CASE("a killed container exits with 128+signal", "[integration][runtime]") {
  Bundle b;
  b.set_args({"sleep", "100"});
  CmdResult r;
  std::thread runner([&] { r = b.run(); });
  std::string status;
  for (int i = 0; i < 500 && status != "running"; ++i) {
    usleep(10000);
    auto s = b.oci({"state", b.id()});
    if (s.code == 0) status = nlohmann::json::parse(s.out)["status"];
  }
  REQUIRE(status == "running");
  REQUIRE(b.oci({"kill", b.id(), "SIGKILL"}).code == 0);
  runner.join();
  REQUIRE(r.code == 137);
}

TEST_CASE("mounts carry their options and the root is read-only", "[integration][runtime]") {
  Bundle b;
  std::string src = b.scratch() + "/data";
  fs::mkdir_p(src);
  b.config["mounts"].push_back(
      {{"destination", "/data"}, {"type", "bind"}, {"source", src}, {"options", {"rbind", "ro", "nosuid"}}});
  b.config["mounts"].push_back(
      {{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nodev", "size=1m", "mode=700"}}});
  b.set_args({"sh", "-c",
              "grep -E ' /(data|scratch|sys|proc) ' /proc/mounts; "
              "touch /x 2>/dev/null && echo root-writable; touch /data/x 2>/dev/null && echo data-writable; "
              "touch /scratch/y && echo scratch-ok; stat -c %a /scratch"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("/data ext4 ro,nosuid") != std::string::npos);
  REQUIRE(r.out.find("/scratch tmpfs rw,nodev") != std::string::npos);
  REQUIRE(r.out.find("size=1024k,mode=700") != std::string::npos);
  REQUIRE(r.out.find("/sys sysfs ro,nosuid,nodev,noexec") != std::string::npos);
  REQUIRE(r.out.find("root-writable") == std::string::npos);
  REQUIRE(r.out.find("data-writable") == std::string::npos);
  REQUIRE(r.out.find("scratch-ok\n700\n") != std::string::npos);
}

TEST_CASE("mount destinations never leave the rootfs through a symlink", "[integration][runtime]") {
  Bundle b;
  // A writable copy of a tiny rootfs with a planted symlink pointing at the host's /tmp.
  std::string root = b.scratch() + "/rootfs";
  REQUIRE(ecsa::test::run_cmd({"/bin/cp", "-a", ecsa::test::fixtures_dir() + "/busybox/rootfs", root}).code == 0);
  std::string victim = b.scratch() + "/victim";
  fs::mkdir_p(victim);
  REQUIRE(symlink(victim.c_str(), (root + "/escape").c_str()) == 0);
  b.config["root"]["path"] = root;
  b.config["mounts"].push_back({{"destination", "/escape/inside"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  b.set_args({"true"});
  CmdResult r = b.run();
  INFO(r.err);
  REQUIRE(r.code == 0);
  // The directory was created under the rootfs's own /<victim path>, not on the host.
  REQUIRE_FALSE(fs::exists(victim + "/inside"));
  REQUIRE(fs::exists(root + victim + "/inside"));
}

TEST_CASE("capabilities, user, groups, rlimits, cwd and no leaked fds", "[integration][runtime]") {
  Bundle b;
  b.config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {10, 20}}};
  b.config["process"]["cwd"] = "/tmp";
  b.config["process"]["capabilities"] = {
      {"bounding", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
      {"effective", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
      {"permitted", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
      {"inheritable", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}},
      {"ambient", {"CAP_KILL", "CAP_NET_BIND_SERVICE"}}};
  b.config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}},
                                    {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 0}}};
  b.set_args({"sh", "-c", "probe ids; probe caps; probe rlimit NOFILE CORE; probe cwd; probe fds"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("uid=1000 gid=1000 groups=10,20") != std::string::npos);
  // CAP_KILL (5) and CAP_NET_BIND_SERVICE (10): 0x420.
  REQUIRE(r.out.find("CapEff:\t0000000000000420") != std::string::npos);
  REQUIRE(r.out.find("CapBnd:\t0000000000000420") != std::string::npos);
  REQUIRE(r.out.find("NOFILE 123 456") != std::string::npos);
  REQUIRE(r.out.find("CORE 0 0") != std::string::npos);
  REQUIRE(r.out.find("/tmp\n") != std::string::npos);
  // Only stdio: no descriptor of the runtime or the host reaches the process.
  auto fds = r.out.substr(r.out.find("/tmp\n") + 5);
  REQUIRE(fds.find("3 ->") == std::string::npos);
  REQUIRE(fds.find("0 ->") != std::string::npos);
}

TEST_CASE("a privileged config gets the runtime's own bounding set", "[integration][runtime]") {
  Bundle b;
  std::vector<std::string> all = ecsa::runtime::known_capabilities();
  for (const char* set : {"bounding", "effective", "permitted", "inheritable"})
    b.config["process"]["capabilities"][set] = all;
  b.config["process"]["capabilities"].erase("ambient");
  b.set_args({"probe", "caps"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("CapEff:") != std::string::npos);
}

TEST_CASE("seccomp refuses a syscall with the configured errno", "[integration][runtime]") {
  Bundle b;
  b.config["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}}};
  b.set_args({"sh", "-c", "probe syscall-mkdir /tmp/x; probe status Seccomp NoNewPrivs"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("38\n") == 0);
  REQUIRE(r.out.find("Seccomp:\t2") != std::string::npos);
  REQUIRE(r.out.find("NoNewPrivs:\t1") != std::string::npos);
}

TEST_CASE("memory limit is enforced: the process is OOM-killed", "[integration][runtime]") {
  Bundle b;
  b.config["linux"]["resources"]["memory"] = {{"limit", 32 * 1024 * 1024}, {"swap", 32 * 1024 * 1024}};
  b.set_args({"ecs-stress", "-concurrency", "1", "-memory", "64"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  REQUIRE(r.code == 137);
}

TEST_CASE("lifecycle: create, state, start, kill, delete; cgroup limits written",
          "[integration][runtime]") {
  Bundle b;
  b.config["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 25000}, {"period", 100000}};
  b.config["linux"]["resources"]["pids"] = {{"limit", 64}};
  b.set_args({"sleep", "100"});
  b.write();
  std::string pidfile = b.scratch() + "/pid";
  CmdResult c = b.oci({"create", "--bundle", b.dir(), "--pid-file", pidfile, b.id()});
  INFO(c.err);
  REQUIRE(c.code == 0);
  auto state = nlohmann::json::parse(b.oci({"state", b.id()}).out);
  REQUIRE(state["status"] == "created");
  REQUIRE(state["id"] == b.id());
  REQUIRE(state["bundle"] == b.dir());
  REQUIRE(std::to_string(state["pid"].get<int>()) == fs::read_file(pidfile));
  REQUIRE(state.contains("ociVersion"));
  REQUIRE(fs::read_file(cgroup_v1_dir("cpu", b.id()) + "/cpu.shares") == "512\n");
  REQUIRE(fs::read_file(cgroup_v1_dir("cpu", b.id()) + "/cpu.cfs_quota_us") == "25000\n");
  REQUIRE(fs::read_file(cgroup_v1_dir("pids", b.id()) + "/pids.max") == "64\n");
  // Starting twice is refused; deleting a running container without --force too.
  REQUIRE(b.oci({"start", b.id()}).code == 0);
  REQUIRE(nlohmann::json::parse(b.oci({"state", b.id()}).out)["status"] == "running");
  CmdResult again = b.oci({"start", b.id()});
  REQUIRE(again.code != 0);
  REQUIRE(again.err.find("already running") != std::string::npos);
  CmdResult del = b.oci({"delete", b.id()});
  REQUIRE(del.code != 0);
  REQUIRE(del.err.find("not stopped") != std::string::npos);
  auto ps = nlohmann::json::parse(b.oci({"ps", "--format", "json", b.id()}).out);
  REQUIRE(ps.size() == 1);
  auto list = nlohmann::json::parse(b.oci({"list", "--format", "json"}).out);
  REQUIRE(list.size() == 1);
  REQUIRE(list[0]["status"] == "running");
  REQUIRE(b.oci({"kill", b.id(), "KILL"}).code == 0);
  std::string status;
  for (int i = 0; i < 200 && status != "stopped"; ++i) {
    status = nlohmann::json::parse(b.oci({"state", b.id()}).out)["status"];
    if (status != "stopped") usleep(10000);
  }
  REQUIRE(status == "stopped");
  REQUIRE(b.oci({"delete", b.id()}).code == 0);
  REQUIRE_FALSE(fs::exists(cgroup_v1_dir("cpu", b.id())));
  CmdResult gone = b.oci({"state", b.id()});
  REQUIRE(gone.code != 0);
  REQUIRE(gone.err.find("does not exist") != std::string::npos);
}

TEST_CASE("delete --force kills a running container", "[integration][runtime]") {
  Bundle b;
  b.set_args({"sleep", "100"});
  b.write();
  REQUIRE(b.oci({"run", "-d", "--bundle", b.dir(), b.id()}).code == 0);
  REQUIRE(nlohmann::json::parse(b.oci({"state", b.id()}).out)["status"] == "running");
  CmdResult d = b.oci({"delete", "--force", b.id()});
  INFO(d.err);
  REQUIRE(d.code == 0);
  REQUIRE_FALSE(fs::exists(cgroup_v1_dir("memory", b.id())));
}

TEST_CASE("hooks run in order with the state on stdin", "[integration][runtime]") {
  Bundle b;
  std::string log = b.scratch() + "/hooks.log";
  std::string hook = b.scratch() + "/hook.sh";
  // Runtime-namespace hooks: append their name and the state they got.
  ecsa::fs::write_file_atomic(hook, "#!/bin/sh\nprintf '%s ' \"$1\" >> " + log + "\ncat >> " + log +
                                        "\necho >> " + log + "\n", 0755);
  auto h = [&](const char* name) {
    return nlohmann::json::array({{{"path", hook}, {"args", {"hook.sh", name}}}});
  };
  b.config["hooks"] = {{"prestart", h("prestart")},
                       {"createRuntime", h("createRuntime")},
                       {"createContainer", h("createContainer")},
                       {"poststart", h("poststart")},
                       {"poststop", h("poststop")}};
  // startContainer runs inside the container: its path resolves there.
  b.config["mounts"].push_back({{"destination", "/hooklog"}, {"type", "bind"}, {"source", b.scratch()}, {"options", {"rbind"}}});
  b.config["hooks"]["startContainer"] = {
      {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo startContainer >> /hooklog/hooks.log"}}}};
  b.set_args({"true"});
  CmdResult r = b.run();
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::string text = fs::read_file(log);
  INFO(text);
  std::vector<std::string> order;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty()) continue;
    order.push_back(line.substr(0, line.find(' ')));
    if (line.find('{') != std::string::npos) {
      auto st = nlohmann::json::parse(line.substr(line.find('{')));
      REQUIRE(st["id"] == b.id());
      REQUIRE(st.contains("pid"));
      REQUIRE(st["bundle"] == b.dir());
    }
  }
  REQUIRE(order == std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                            "startContainer", "poststart", "poststop"});
}

TEST_CASE("a failing hook fails create and leaves nothing behind", "[integration][runtime]") {
  Bundle b;
  b.config["hooks"] = {{"createRuntime", {{{"path", "/bin/false"}}}}};
  b.set_args({"true"});
  CmdResult r = b.run();
  REQUIRE(r.code != 0);
  REQUIRE(r.err.find("createRuntime hook /bin/false: exit status 1") != std::string::npos);
  REQUIRE_FALSE(fs::exists(b.state_root() + "/" + b.id()));
  REQUIRE_FALSE(fs::exists(cgroup_v1_dir("memory", b.id())));
}

TEST_CASE("errors name the step, the path and the errno text", "[integration][runtime]") {
  Bundle b;
  b.config["mounts"].push_back({{"destination", "/x"}, {"type", "bind"}, {"source", "/nonexistent-src"}});
  b.set_args({"true"});
  CmdResult r = b.run();
  REQUIRE(r.code == 1);
  REQUIRE(r.err == "ecsa-run: create " + b.id() + ": mount bind on /x: source /nonexistent-src: No such file or directory\n");
  REQUIRE_FALSE(fs::exists(b.state_root() + "/" + b.id()));
  REQUIRE_FALSE(fs::exists(cgroup_v1_dir("cpu", b.id())));

  Bundle c;
  c.config["process"]["user"]["uid"] = "root";
  c.set_args({"true"});
  CmdResult r2 = c.run();
  REQUIRE(r2.err.find("process.user.uid: expected a non-negative integer, got \"root\"") != std::string::npos);

  Bundle d;
  d.set_args({"no-such-binary"});
  CmdResult r3 = d.run();
  REQUIRE(r3.code == 1);
  REQUIRE(r3.err.find("executable file not found in $PATH") != std::string::npos);
  REQUIRE_FALSE(fs::exists(d.state_root() + "/" + d.id()));
}

TEST_CASE("spec and features", "[integration][runtime]") {
  ecsa::test::TempDir t;
  auto r = ecsa::test::run_cmd({ecsa::test::ecsa_run(), "oci", "spec", "--bundle", t.path()});
  REQUIRE(r.code == 0);
  auto spec = nlohmann::json::parse(ecsa::fs::read_file(t.path() + "/config.json"));
  REQUIRE(spec["ociVersion"].get<std::string>().rfind("1.", 0) == 0);
  REQUIRE(spec["process"]["args"] == nlohmann::json::array({"sh"}));
  REQUIRE(ecsa::test::run_cmd({ecsa::test::ecsa_run(), "oci", "spec", "--bundle", t.path()}).code != 0);
  auto f = ecsa::test::run_cmd({ecsa::test::ecsa_run(), "oci", "features"});
  REQUIRE(f.code == 0);
  auto feat = nlohmann::json::parse(f.out);
  REQUIRE(feat["linux"]["namespaces"].size() == 7);
  REQUIRE(feat["linux"]["seccomp"]["enabled"] == true);
}

TEST_CASE("--no-pivot runs the container with MS_MOVE and chroot", "[integration][runtime]") {
  Bundle b;
  b.set_args({"sh", "-c", "echo ok; ls /"});
  b.write();
  CmdResult r = b.oci({"run", "--no-pivot", "--bundle", b.dir(), b.id()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.rfind("ok\n", 0) == 0);
  REQUIRE(r.out.find("usr") != std::string::npos);
}

TEST_CASE("a user namespace maps the container's root", "[integration][runtime]") {
  Bundle b;
  b.config["linux"]["namespaces"].push_back({{"type", "user"}});
  b.config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  b.config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  // sysfs needs its own network namespace owner and a cgroup mount needs the host's
  // hierarchy: keep the mounts a user namespace may make.
  auto& mounts = b.config["mounts"];
  for (size_t i = mounts.size(); i-- > 0;)
    if (mounts[i]["type"] == "cgroup") mounts.erase(i);
  b.set_args({"sh", "-c", "cat /proc/self/uid_map; probe ids"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("100000") != std::string::npos);
  REQUIRE(r.out.find("uid=0 gid=0") != std::string::npos);
}

TEST_CASE("namespaces are joined by path", "[integration][runtime]") {
  Bundle a;
  a.config["hostname"] = "shared-uts";
  a.set_args({"sleep", "100"});
  a.write();
  REQUIRE(a.oci({"run", "-d", "--bundle", a.dir(), a.id()}).code == 0);
  int pid = nlohmann::json::parse(a.oci({"state", a.id()}).out)["pid"];
  Bundle b;
  for (auto& ns : b.config["linux"]["namespaces"])
    if (ns["type"] == "uts" || ns["type"] == "network")
      ns["path"] = "/proc/" + std::to_string(pid) + "/ns/" + (ns["type"] == "uts" ? "uts" : "net");
  b.config.erase("hostname");
  b.set_args({"sh", "-c", "hostname; readlink /proc/self/ns/net"});
  CmdResult r = b.run();
  INFO(r.out << r.err);
  std::string net_a = ecsa::test::run_cmd({"/bin/readlink", "/proc/" + std::to_string(pid) + "/ns/net"}).out;
  REQUIRE(a.oci({"delete", "--force", a.id()}).code == 0);
  REQUIRE(r.code == 0);
  REQUIRE(r.out == "shared-uts\n" + net_a);
}

TEST_CASE("the runtime binary is not reachable from inside the container",
          "[integration][runtime]") {
  // A second container shares the pid namespace of a created (not started) one, whose init
  // is still the runtime: /proc/<init>/exe must be refused (CVE-2019-5736 class).
  Bundle a;
  a.set_args({"true"});
  a.write();
  REQUIRE(a.oci({"create", "--bundle", a.dir(), a.id()}).code == 0);
  int pid = nlohmann::json::parse(a.oci({"state", a.id()}).out)["pid"];
  Bundle b;
  for (auto& ns : b.config["linux"]["namespaces"])
    if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(pid) + "/ns/pid";
  b.set_args({"sh", "-c", "readlink /proc/1/exe || echo refused; cat /proc/1/exe > /dev/null 2>&1 || echo refused"});
  CmdResult r = b.run();
  REQUIRE(a.oci({"delete", "--force", a.id()}).code == 0);
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.out == "refused\nrefused\n");
}

TEST_CASE("--console-socket receives the pty master", "[integration][runtime]") {
  Bundle b;
  b.config["process"]["terminal"] = true;
  b.config["process"]["consoleSize"] = {{"height", 30}, {"width", 100}};
  b.set_args({"sh", "-c", "tty; stty size; echo done"});
  b.write();
  std::string sock = b.scratch() + "/console.sock";
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, sock.c_str());
  REQUIRE(bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(ls, 1) == 0);
  int master = -1;
  std::string name;
  std::thread receiver([&] {
    int c = accept(ls, nullptr, nullptr);
    char buf[256] = {};
    char ctrl[CMSG_SPACE(sizeof(int))] = {};
    iovec iov{buf, sizeof buf - 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    if (recvmsg(c, &msg, 0) > 0) {
      name = buf;
      cmsghdr* cm = CMSG_FIRSTHDR(&msg);
      if (cm && cm->cmsg_type == SCM_RIGHTS) std::memcpy(&master, CMSG_DATA(cm), sizeof(int));
    }
    close(c);
  });
  CmdResult c = b.oci({"create", "--bundle", b.dir(), "--console-socket", sock, b.id()});
  receiver.join();
  close(ls);
  INFO(c.err);
  REQUIRE(c.code == 0);
  REQUIRE(master >= 0);
  REQUIRE(name.rfind("/dev/pts/", 0) == 0);
  REQUIRE(b.oci({"start", b.id()}).code == 0);
  std::string out;
  char buf[512];
  for (int i = 0; i < 200 && out.find("done") == std::string::npos; ++i) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 50) > 0) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
  }
  close(master);
  b.oci({"delete", "--force", b.id()});
  INFO(out);
  REQUIRE(out.find("/dev/pts/0") != std::string::npos);
  REQUIRE(out.find("30 100") != std::string::npos);
}

TEST_CASE("--log-format json writes runc-style error lines", "[integration][runtime]") {
  Bundle b;
  std::string log = b.scratch() + "/log.json";
  auto r = ecsa::test::run_cmd({ecsa::test::ecsa_run(), "oci", "--root", b.state_root(), "--log", log,
                                "--log-format", "json", "state", "nonexistent"});
  REQUIRE(r.code == 1);
  auto line = nlohmann::json::parse(ecsa::fs::read_file(log));
  REQUIRE(line["level"] == "error");
  REQUIRE(line["msg"] == "container nonexistent does not exist");
  REQUIRE(line.contains("time"));
}
