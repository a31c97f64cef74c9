// Seccomp, capabilities and rlimits applied for real, each in a forked child that reports
// back through a pipe, so the test process keeps its own privileges and limits. Then what the
// OCI conformance suite (tests/conformance) found, checked on real containers: root mount
// propagation and failing poststart/poststop hooks.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/rlimits.hpp"
#include "runtime/seccomp.hpp"
#include "tests/support/process_harness.hpp"

using namespace ecsa::runtime;

namespace {

struct ChildResult {
  std::string out;  // what the child wrote to the fd it was given
  int status;       // waitpid status
};

// Runs fn in a forked child with the write end of a pipe; fn's return value is written
// there too, an exception's message prefixed with "error: ".
ChildResult run_child(const std::function<std::string(int fd)>& fn) {
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(p[0]);
    std::string msg;
    try {
      msg = fn(p[1]);
    } catch (const std::exception& e) {
      msg = std::string("error: ") + e.what();
    }
    if (write(p[1], msg.data(), msg.size()) < 0) _exit(2);
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {out, status};
}

SeccompFilter filter(const std::string& text) {
  auto doc = ecsa::json::parse(text, "config.json");
  return SeccompFilter(parse_seccomp(ecsa::json::Node(doc, "linux.seccomp")));
}

// A capability mask line ("CapEff:\t...") of /proc/<self>/status text, as a number.
uint64_t cap_mask(const std::string& status, const std::string& key) {
  auto pos = status.find(key + ":\t");
  if (pos == std::string::npos) return ~0ULL;
  return std::stoull(status.substr(pos + key.size() + 2, 16), nullptr, 16);
}

std::string errno_name(int err) {
  switch (err) {
    case 0:
      return "ok";
    case EPERM:
      return "EPERM";
    case ENOSYS:
      return "ENOSYS";
    case EBADF:
      return "EBADF";
    case EBADFD:
      return "EBADFD";
    default:
      return std::to_string(err);
  }
}

// A directory removed at the end of the test, whatever happens.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ecsa-sec-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { ecsa::fs::remove_all(path); }
};

bool is_root() {
  if (geteuid() == 0) return true;
  WARN("not root: skipped");
  return false;
}

std::vector<int> all_but(int cap) {
  std::vector<int> v;
  for (const auto& n : known_capabilities())
    if (capability_from_name(n) != cap) v.push_back(capability_from_name(n));
  return v;
}

}  // namespace

TEST_CASE("seccomp ERRNO rules make syscalls fail with the given errno", "[integration][runtime]") {
  TempDir tmp;
  auto f = filter(R"({"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
      {"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
       "args": [{"index": 0, "value": 65280, "valueTwo": 12288, "op": "SCMP_CMP_MASKED_EQ"}]}]})");
  auto r = run_child([&](int) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("prctl failed");
    f.load();
    std::string out;
    errno = 0;
    mkdir((tmp.path + "/x").c_str(), 0755);
    out += "mkdir=" + errno_name(errno);
    errno = 0;
    close(0x3012);  // matches the mask: filtered
    out += " close3012=" + errno_name(errno);
    errno = 0;
    close(0x4012);  // does not match: the kernel's EBADF
    out += " close4012=" + errno_name(errno);
    return out;
  });
  REQUIRE(r.out == "mkdir=ENOSYS close3012=EBADFD close4012=EBADF");
  REQUIRE_FALSE(ecsa::fs::exists(tmp.path + "/x"));
}

TEST_CASE("seccomp default ERRNO action returns EPERM", "[integration][runtime]") {
  TempDir tmp;
  // An allow list: just what the child needs to report back and exit.
  auto f = filter(R"({"defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [{"names": ["write", "exit", "exit_group", "rt_sigreturn", "brk", "mmap",
                            "munmap", "mprotect"], "action": "SCMP_ACT_ALLOW"}]})");
  auto r = run_child([&](int) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("prctl failed");
    f.load();
    errno = 0;
    mkdir((tmp.path + "/x").c_str(), 0755);
    return errno_name(errno);
  });
  REQUIRE(r.out == "EPERM");
  REQUIRE_FALSE(ecsa::fs::exists(tmp.path + "/x"));
}

TEST_CASE("seccomp KILL_PROCESS kills the process with SIGSYS", "[integration][runtime]") {
  auto f = filter(R"({"defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]})");
  auto r = run_child([&](int) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("prctl failed");
    f.load();
    syscall(SYS_getppid);
    return std::string("survived");
  });
  REQUIRE(r.out == "");
  REQUIRE(WIFSIGNALED(r.status));
  REQUIRE(WTERMSIG(r.status) == SIGSYS);
}

TEST_CASE("seccomp flags the kernel supports are accepted on load", "[integration][runtime]") {
  nlohmann::json flags = seccomp_features().at("supportedFlags");
  nlohmann::json profile = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"flags", flags},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
  auto f = filter(profile.dump());
  auto r = run_child([&](int) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("prctl failed");
    f.load();
    errno = 0;
    mkdir("/tmp", 0755);
    return errno_name(errno);
  });
  INFO("flags " << flags.dump());
  REQUIRE(r.out == "EPERM");
}

TEST_CASE("seccomp load without no_new_privs or CAP_SYS_ADMIN says why", "[integration][runtime]") {
  if (!is_root()) return;
  auto f = filter(R"({"defaultAction": "SCMP_ACT_ALLOW"})");
  auto r = run_child([&](int) {
    auto caps = all_but(CAP_SYS_ADMIN);
    apply_capabilities({caps, caps, caps, caps, {}});
    f.load();
    return std::string("loaded");
  });
  REQUIRE(r.out ==
          "error: load seccomp filter (needs noNewPrivileges or CAP_SYS_ADMIN): Permission denied");
}

TEST_CASE("capabilities without CAP_CHOWN take chown away", "[integration][runtime]") {
  if (!is_root()) return;
  TempDir tmp;
  std::string file = tmp.path + "/f";
  ecsa::fs::write_file_atomic(file, "x");
  // Every capability but CAP_CHOWN, as a privileged container minus one: this also asks
  // for capabilities root itself may lack (CAP_SYS_RESOURCE on this machine).
  auto caps = all_but(CAP_CHOWN);
  auto r = run_child([&](int) {
    apply_capabilities({caps, caps, caps, caps, {}});
    errno = 0;
    chown(file.c_str(), 1234, 1234);
    return "chown=" + errno_name(errno) + "\n" + ecsa::fs::read_file("/proc/self/status");
  });
  INFO(r.out);
  REQUIRE(r.out.rfind("chown=EPERM\n", 0) == 0);
  for (const char* key : {"CapEff", "CapPrm", "CapBnd", "CapInh"}) {
    uint64_t mask = cap_mask(r.out, key);
    INFO(key);
    REQUIRE((mask & (1ULL << CAP_CHOWN)) == 0);
    REQUIRE((mask & (1ULL << CAP_KILL)) != 0);
    REQUIRE((mask & (1ULL << CAP_SYS_ADMIN)) != 0);
  }
  // Whatever root lacked stays out, instead of failing the container.
  uint64_t own_bounding = cap_mask(ecsa::fs::read_file("/proc/self/status"), "CapBnd");
  REQUIRE((cap_mask(r.out, "CapEff") & ~own_bounding) == 0);
  struct stat st;
  REQUIRE(stat(file.c_str(), &st) == 0);
  REQUIRE(st.st_uid == 0);
}

TEST_CASE("ambient capabilities reach a non-root process across execve", "[integration][runtime]") {
  if (!is_root()) return;
  std::vector<int> nbs{CAP_NET_BIND_SERVICE};
  auto r = run_child([&](int fd) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, nullptr) != 0 ||
        setgid(65534) != 0 || setuid(65534) != 0)
      return std::string("cannot become 65534: ") + std::strerror(errno);
    apply_capabilities({nbs, nbs, nbs, nbs, nbs});
    dup2(fd, 1);
    execl("/bin/cat", "cat", "/proc/self/status", static_cast<char*>(nullptr));
    return std::string("exec /bin/cat: ") + std::strerror(errno);
  });
  INFO(r.out);
  REQUIRE(WIFEXITED(r.status));
  REQUIRE(WEXITSTATUS(r.status) == 0);
  const uint64_t want = 1ULL << CAP_NET_BIND_SERVICE;
  REQUIRE(r.out.find("Uid:\t65534") != std::string::npos);
  REQUIRE(cap_mask(r.out, "CapEff") == want);
  REQUIRE(cap_mask(r.out, "CapPrm") == want);
  REQUIRE(cap_mask(r.out, "CapInh") == want);
  REQUIRE(cap_mask(r.out, "CapAmb") == want);
  REQUIRE(cap_mask(r.out, "CapBnd") == want);
}

TEST_CASE("capability errors name the capability and the errno", "[integration][runtime]") {
  if (!is_root()) return;
  auto become_nobody = [] {
    // No KEEPCAPS: setuid clears the permitted set.
    if (setgid(65534) != 0 || setuid(65534) != 0) throw ecsa::Error("setuid failed");
  };
  auto everything = all_but(-1);
  auto r = run_child([&](int) {
    become_nobody();
    apply_capabilities({everything, {CAP_KILL}, {}, {CAP_KILL}, {}});
    return std::string("applied");
  });
  REQUIRE(r.out ==
          "error: set effective/permitted/inheritable capabilities (not permitted: CAP_KILL): "
          "Operation not permitted");
  r = run_child([&](int) {
    become_nobody();
    apply_capabilities({});
    return std::string("applied");
  });
  REQUIRE(r.out == "error: drop CAP_CHOWN from the bounding set: Operation not permitted");
}

TEST_CASE("rlimits are applied and read back", "[integration][runtime]") {
  auto r = run_child([&](int) {
    apply_rlimits(
        {{RLIMIT_NOFILE, "RLIMIT_NOFILE", 1000, 2000}, {RLIMIT_CORE, "RLIMIT_CORE", 0, 0}});
    rlimit nofile{}, core{};
    getrlimit(RLIMIT_NOFILE, &nofile);
    getrlimit(RLIMIT_CORE, &core);
    std::ostringstream out;
    out << nofile.rlim_cur << "/" << nofile.rlim_max << " " << core.rlim_cur << "/"
        << core.rlim_max;
    // Raising a hard limit needs CAP_SYS_RESOURCE; make sure it is not effective.
    cap_t c = cap_get_proc();
    cap_value_t res = CAP_SYS_RESOURCE;
    cap_set_flag(c, CAP_EFFECTIVE, 1, &res, CAP_CLEAR);
    cap_set_proc(c);
    cap_free(c);
    try {
      apply_rlimits({{RLIMIT_NOFILE, "RLIMIT_NOFILE", 30000, 30000}});
      out << " raised";
    } catch (const ecsa::Error& e) {
      out << " | " << e.what();
    }
    return out.str();
  });
  REQUIRE(r.out ==
          "1000/2000 0/0 | setrlimit RLIMIT_NOFILE soft=30000 hard=30000: Operation not permitted");
}

namespace {

// containers-common's profile in the engine format (archMap, includes/excludes) turned into
// the OCI form an engine would write for a container with Docker's default capabilities.
nlohmann::json engine_profile_to_oci(const nlohmann::json& engine) {
  const std::set<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  const bool arm64 = seccomp_arch_native() == SCMP_ARCH_AARCH64;
  const std::string arch = arm64 ? "arm64" : "amd64";
  const std::string oci_arch = arm64 ? "SCMP_ARCH_AARCH64" : "SCMP_ARCH_X86_64";
  nlohmann::json oci = {{"defaultAction", engine.at("defaultAction")},
                        {"defaultErrnoRet", engine.at("defaultErrnoRet")},
                        {"architectures", nlohmann::json::array()},
                        {"syscalls", nlohmann::json::array()}};
  for (const auto& m : engine.at("archMap")) {
    if (m.at("architecture") != oci_arch) continue;
    oci["architectures"].push_back(oci_arch);
    for (const auto& sub : m.value("subArchitectures", nlohmann::json::array()))
      oci["architectures"].push_back(sub);
  }
  auto list = [](const nlohmann::json& s, const char* where, const char* key) {
    std::vector<std::string> v;
    if (s.contains(where) && s[where].contains(key) && s[where][key].is_array())
      v = s[where][key].get<std::vector<std::string>>();
    return v;
  };
  for (const auto& s : engine.at("syscalls")) {
    bool use = true;
    for (const auto& c : list(s, "includes", "caps")) use &= caps.count(c) > 0;
    for (const auto& c : list(s, "excludes", "caps")) use &= caps.count(c) == 0;
    auto in_arches = list(s, "includes", "arches");
    if (!in_arches.empty())
      use &= std::find(in_arches.begin(), in_arches.end(), arch) != in_arches.end();
    for (const auto& a : list(s, "excludes", "arches")) use &= a != arch;
    if (!use) continue;
    nlohmann::json rule = {{"names", s.at("names")}, {"action", s.at("action")}};
    if (s.contains("errnoRet")) rule["errnoRet"] = s["errnoRet"];
    if (s.contains("args") && !s["args"].is_null()) rule["args"] = s["args"];
    oci["syscalls"].push_back(rule);
  }
  return oci;
}

}  // namespace

TEST_CASE("a real engine default profile compiles, loads and runs a shell",
          "[integration][runtime]") {
  const std::string path = "/usr/share/containers/seccomp.json";
  if (!ecsa::fs::exists(path)) {
    WARN(path + " missing (package golang-github-containers-common): skipped");
    return;
  }
  auto oci = engine_profile_to_oci(nlohmann::json::parse(ecsa::fs::read_file(path)));
  auto f = filter(oci.dump());
  INFO("instructions " << f.instructions());
  auto r = run_child([&](int fd) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return std::string("prctl failed");
    f.load();
    errno = 0;
    syscall(SYS_add_key, "user", "ecsa", "x", 1, 0);  // not in the profile: its default errno
    std::string out = "add_key=" + errno_name(errno);
    errno = 0;
    syscall(SYS_swapon, "/nonexistent-ecsa", 0);  // denied with EPERM (else ENOENT)
    out += " swapon=" + errno_name(errno) + "\n";
    if (write(fd, out.data(), out.size()) < 0) return std::string("write failed");
    dup2(fd, 1);
    execl("/bin/sh", "sh", "-c", "echo hello from sh", static_cast<char*>(nullptr));
    return std::string("exec /bin/sh: ") + std::strerror(errno);
  });
  REQUIRE(r.out == "add_key=ENOSYS swapon=EPERM\nhello from sh\n");
  REQUIRE(WIFEXITED(r.status));
  REQUIRE(WEXITSTATUS(r.status) == 0);
}

namespace {
// The optional fields of the container's "/" line in its /proc/self/mountinfo
// ("shared:N", "master:N", "unbindable"; none for a private mount).
std::string root_propagation(const std::string& propagation) {
  ecsa::test::Bundle b;
  b.config["linux"]["rootfsPropagation"] = propagation;
  b.set_args({"awk", "$5 == \"/\" { f = \"\"; for (i = 7; $i != \"-\"; i++) f = f $i \" \"; print f \"|\" }",
              "/proc/self/mountinfo"});
  auto r = b.run();
  INFO(propagation << ": " << r.err);
  REQUIRE(r.code == 0);
  return r.out;
}
}  // namespace

TEST_CASE("rootfsPropagation applies to the container's root, after pivot_root",
          "[integration][runtime]") {
  // unbindable used to fail create: the host's "/" was made unbindable before the rootfs was
  // bound from it (EINVAL).
  std::string out = root_propagation("unbindable");
  CHECK(out.find("unbindable") != std::string::npos);
  out = root_propagation("private");
  CHECK(out.find("shared:") == std::string::npos);
  CHECK(out.find("master:") == std::string::npos);
  CHECK(out.find("unbindable") == std::string::npos);
  // A slave of the host's mount where that one is shared ("master:N"); on a host whose "/" is
  // private (this VM) it stays private. Never shared with the host either way.
  out = root_propagation("rslave");
  CHECK(out.find("shared:") == std::string::npos);
  CHECK(out.find("unbindable") == std::string::npos);
  out = root_propagation("shared");
  CHECK(out.find("shared:") != std::string::npos);
}

TEST_CASE("a failing poststart or poststop hook is a warning: the next hooks still run",
          "[integration][runtime]") {
  ecsa::test::Bundle b;
  std::string log = b.scratch() + "/hooks.log";
  auto hooks = [&](const char* name) {
    return nlohmann::json::array(
        {{{"path", "/bin/false"}},
         {{"path", "/bin/sh"}, {"args", {"sh", "-c", std::string("echo ") + name + " >> " + log}}}});
  };
  b.config["hooks"] = {{"poststart", hooks("poststart")}, {"poststop", hooks("poststop")}};
  b.set_args({"true"});
  auto r = b.run();
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(ecsa::fs::read_file(log) == "poststart\npoststop\n");
  CHECK(r.err.find("poststart hook /bin/false: exit status 1") != std::string::npos);
  CHECK(r.err.find("poststop hook /bin/false: exit status 1") != std::string::npos);
  // A failing prestart hook still fails the container.
  ecsa::test::Bundle p;
  p.config["hooks"] = {{"prestart", {{{"path", "/bin/false"}}}}};
  p.set_args({"true"});
  r = p.run();
  CHECK(r.code != 0);
  CHECK(r.err.find("prestart hook /bin/false: exit status 1") != std::string::npos);
}
