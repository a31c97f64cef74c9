// The fixtures that `make fixtures` builds (rootfs-fixtures/): the busybox bundle is what
// the runtime tests run, so check it is whole, its helpers behave, and a reference runtime
// (Debian's runc) runs it as is.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "common/fs.hpp"

namespace {

std::string fixtures() {
  const char* f = std::getenv("ECSA_FIXTURES");
  REQUIRE(f != nullptr);
  return f;
}

std::string rootfs() {
  return fixtures() + "/busybox/rootfs";
}

struct Output {
  int exit_code = -1;
  std::string out;
};

Output run(const std::string& cmd) {
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  Output o;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ecsa-fixtures-it-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { ecsa::fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST_CASE("fixtures: busybox rootfs layout", "[integration]") {
  std::string r = rootfs();
  for (const char* applet : {"/bin/sh", "/bin/true", "/bin/ls", "/usr/bin/env", "/sbin/ip"}) {
    INFO(applet);
    char target[256] = {};
    REQUIRE(::readlink((r + applet).c_str(), target, sizeof target - 1) > 0);
    CHECK(std::string(target) == "/bin/busybox");
  }
  struct stat st {};
  REQUIRE(::stat((r + "/tmp").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 01777);
  for (const char* d : {"/proc", "/sys", "/dev", "/etc", "/root", "/var"})
    CHECK(ecsa::fs::is_dir(r + d));

  std::string passwd = ecsa::fs::read_file(r + "/etc/passwd");
  CHECK(has(passwd, "root:x:0:0:"));
  CHECK(has(passwd, "nobody:x:65534:65534:"));
  CHECK(has(passwd, "app:x:1000:1000:"));
  std::string group = ecsa::fs::read_file(r + "/etc/group");
  CHECK(has(group, "root:x:0:"));
  CHECK(has(group, "nobody:x:65534:"));
  CHECK(has(group, "app:x:1000:"));
  CHECK(ecsa::fs::read_file(r + "/etc/hostname") == "busybox\n");

  auto config = nlohmann::json::parse(ecsa::fs::read_file(fixtures() + "/busybox/config.json"));
  CHECK(config["ociVersion"] == "1.0.2");
  CHECK(config["process"]["terminal"] == false);
  CHECK(config["process"]["args"] == nlohmann::json::array({"sh"}));
  CHECK(config["root"]["path"] == "rootfs");
  CHECK(config["linux"]["namespaces"].size() == 5);
  CHECK(config["process"]["rlimits"][0]["type"] == "RLIMIT_NOFILE");
}

TEST_CASE("fixtures: probe reports facts", "[integration]") {
  std::string probe = rootfs() + "/usr/bin/probe";
  TempDir tmp;
  Output made = run(probe + " syscall-mkdir " + tmp.path() + "/new");
  CHECK(made.exit_code == 0);
  CHECK(made.out == "0\n");
  Output again = run(probe + " syscall-mkdir " + tmp.path() + "/new");
  CHECK(again.out == std::to_string(EEXIST) + "\n");

  Output ids = run(probe + " ids");
  CHECK(has(ids.out, "uid=" + std::to_string(::getuid()) + " gid=" + std::to_string(::getgid())));
  Output cwd = run("cd " + tmp.path() + " && " + probe + " cwd");
  CHECK(cwd.out == tmp.path() + "\n");
  Output caps = run(probe + " caps");
  CHECK(has(caps.out, "CapEff:\t"));
  CHECK(has(caps.out, "CapBnd:\t"));
  Output fds = run(probe + " fds 7</dev/null");
  CHECK(has(fds.out, "7 -> /dev/null"));
  Output lim = run("ulimit -n 1000 && " + probe + " rlimit NOFILE");
  CHECK(lim.out.rfind("NOFILE 1000 ", 0) == 0);
  CHECK(run(probe + " exit 42").exit_code == 42);
  CHECK(run(probe + " no-such-probe").exit_code == 2);
}

TEST_CASE("fixtures: ecs-stress makes its memory resident and keeps running", "[integration]") {
  std::string bin = rootfs() + "/usr/bin/ecs-stress";
  int out[2];
  REQUIRE(::pipe(out) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(bin.c_str(), "ecs-stress", "-concurrency", "1", "-memory=16", (char*)nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  // Kill and reap the stressor however the test ends.
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{pid};
  char buf[256] = {};
  ssize_t n = ::read(out[0], buf, sizeof buf - 1);
  ::close(out[0]);
  REQUIRE(n > 0);
  CHECK(std::string(buf) == "ecs-stress: 16 MiB written, 1 threads spinning\n");

  std::string status = ecsa::fs::read_file("/proc/" + std::to_string(pid) + "/status");
  auto pos = status.find("VmRSS:");
  REQUIRE(pos != std::string::npos);
  long rss_kib = std::atol(status.c_str() + pos + 6);
  CHECK(rss_kib >= 16 * 1024);
  CHECK(::waitpid(pid, nullptr, WNOHANG) == 0);  // still running
}

TEST_CASE("fixtures: runc runs the busybox bundle as is", "[integration]") {
  if (::access("/usr/sbin/runc", X_OK) != 0) {
    WARN("runc not installed: skipped");
    return;
  }
  TempDir dir;
  auto config = nlohmann::json::parse(ecsa::fs::read_file(fixtures() + "/busybox/config.json"));
  // runc wants the rootfs path without symlinks.
  char* real = ::realpath(rootfs().c_str(), nullptr);
  REQUIRE(real != nullptr);
  config["root"]["path"] = std::string(real);
  std::free(real);
  config["process"]["args"] = {"sh", "-c", "probe ids; probe rlimit NOFILE; hostname; probe caps"};
  ecsa::fs::mkdir_p(dir.path() + "/bundle");
  ecsa::fs::write_file_atomic(dir.path() + "/bundle/config.json", config.dump());
  std::string id = "ecsa-fixture-" + std::to_string(::getpid());
  std::string runc = "/usr/sbin/runc --root " + dir.path() + "/state";
  Output o = run(runc + " run --bundle " + dir.path() + "/bundle " + id + " </dev/null");
  run(runc + " delete --force " + id);  // nothing to do when run succeeded
  INFO(o.out);
  CHECK(o.exit_code == 0);
  CHECK(has(o.out, "uid=0 gid=0"));
  CHECK(has(o.out, "NOFILE 1024 1024"));
  CHECK(has(o.out, "busybox\n"));
  CHECK(has(o.out, "CapEff:\t0000000020000420"));  // AUDIT_WRITE, KILL, NET_BIND_SERVICE
}
