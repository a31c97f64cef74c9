// `$ECSA_RUN check` on this machine: a Debian 12 VM with hybrid cgroups (v1 controllers,
// cgroup2 at /sys/fs/cgroup/unified holding hugetlb) and a kernel with everything ecsa
// needs. The assertions are the facts of this machine (and of CI, which runs on it).
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "common/fs.hpp"
#include "runtime/host_check.hpp"

namespace {

struct Output {
  int exit_code = -1;
  std::string out;
};

// Runs `$ECSA_RUN ARGS` (arguments are plain words: no quoting needed) and captures stdout.
Output run_ecsa(const std::string& args) {
  const char* bin = std::getenv("ECSA_RUN");
  REQUIRE(bin != nullptr);
  std::string cmd = std::string(bin) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  Output o;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  int status = ::pclose(p);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

const nlohmann::json& entry(const nlohmann::json& arr, const std::string& name) {
  for (const auto& e : arr)
    if (e.at("name") == name) return e;
  FAIL("no check named " << name);
  throw std::logic_error("unreachable");
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ecsa-check-it-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { ecsa::fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

TEST_CASE("check --format json: the facts of this machine", "[integration]") {
  std::string forward_before = ecsa::fs::read_file("/proc/sys/net/ipv4/ip_forward");
  Output o = run_ecsa("check --format json");
  std::string forward_after = ecsa::fs::read_file("/proc/sys/net/ipv4/ip_forward");
  INFO(o.out);
  CHECK(o.exit_code == 0);
  auto arr = nlohmann::json::parse(o.out);
  REQUIRE(arr.is_array());

  std::set<std::string> names;
  for (const auto& e : arr) {
    REQUIRE(e.size() == 5);
    names.insert(e.at("name").get<std::string>());
    std::string status = e.at("status");
    CHECK((status == "ok" || status == "missing" || status == "warning"));
    CHECK(e.at("required").is_boolean());
    CHECK(e.at("detail").is_string());
    CHECK(e.at("remedy").is_string());
    if (status == "ok") CHECK(e.at("remedy") == "");
    if (status != "ok") CHECK(e.at("remedy") != "");
  }
  for (const char* n :
       {"namespace.user", "namespace.pid", "namespace.net", "namespace.ipc", "namespace.uts",
        "namespace.mount", "namespace.cgroup", "user_namespaces", "cgroup.hierarchy",
        "cgroup.memory", "cgroup.cpu", "cgroup.cpuacct", "cgroup.cpu_quota", "overlayfs", "seccomp",
        "nftables", "bridge", "veth", "ip_forward"})
    CHECK(names.count(n) == 1);

  // Every namespace kind is there.
  for (const char* ns : {"user", "pid", "net", "ipc", "uts", "mount", "cgroup"})
    CHECK(entry(arr, std::string("namespace.") + ns).at("status") == "ok");
  CHECK(entry(arr, "namespace.pid").at("required") == true);

  // Hybrid cgroups: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified with hugetlb.
  std::string layout = entry(arr, "cgroup.hierarchy").at("detail");
  CHECK(has(layout, "hybrid"));
  CHECK(has(layout, "cgroup2 at /sys/fs/cgroup/unified (controllers: hugetlb)"));
  const auto& mem = entry(arr, "cgroup.memory");
  CHECK(mem.at("status") == "ok");
  CHECK(mem.at("required") == true);
  CHECK(mem.at("detail") == "cgroup v1 at /sys/fs/cgroup/memory");
  CHECK(entry(arr, "cgroup.cpu").at("detail") == "cgroup v1 at /sys/fs/cgroup/cpu");
  CHECK(entry(arr, "cgroup.cpuacct").at("detail") == "cgroup v1 at /sys/fs/cgroup/cpuacct");
  CHECK(entry(arr, "cgroup.pids").at("status") == "ok");
  CHECK(entry(arr, "cgroup.hugetlb").at("status") == "ok");
  CHECK(has(entry(arr, "cgroup.hugetlb").at("detail"), "cgroup v2"));
  CHECK(entry(arr, "cgroup.cpu_quota").at("detail") == "/sys/fs/cgroup/cpu/cpu.cfs_quota_us");

  // Kernel features, asked of the running kernel where it can be.
  CHECK(entry(arr, "overlayfs").at("detail") == "overlay in /proc/filesystems");
  CHECK(has(entry(arr, "seccomp").at("detail"), "accepts filters"));
  CHECK(has(entry(arr, "nftables").at("detail"), "NFT_MSG_GETGEN"));
  CHECK(entry(arr, "bridge").at("status") == "ok");
  CHECK(entry(arr, "veth").at("status") == "ok");
  CHECK(has(entry(arr, "veth").at("detail"), "CONFIG_VETH=y in /proc/config.gz"));

  // ip_forward is a warning when off (ecsa turns it on); other tests may flip it meanwhile.
  const auto& fwd = entry(arr, "ip_forward");
  CHECK(fwd.at("required") == false);
  std::string expected_before = forward_before[0] == '1' ? "ok" : "warning";
  std::string expected_after = forward_after[0] == '1' ? "ok" : "warning";
  CHECK((fwd.at("status") == expected_before || fwd.at("status") == expected_after));
}

TEST_CASE("check: one text line per requirement, exit 0 here", "[integration]") {
  Output o = run_ecsa("check");
  INFO(o.out);
  CHECK(o.exit_code == 0);
  CHECK(has(o.out, "all required features present"));
  bool memory_line = false;
  size_t lines = 0;
  size_t start = 0;
  while (start < o.out.size()) {
    size_t end = o.out.find('\n', start);
    if (end == std::string::npos) end = o.out.size();
    std::string line = o.out.substr(start, end - start);
    if (line.rfind("cgroup.memory ", 0) == 0) {
      memory_line = true;
      CHECK(has(line, " ok "));
      CHECK(has(line, "/sys/fs/cgroup/memory"));
    }
    if (!line.empty()) ++lines;
    start = end + 1;
  }
  CHECK(memory_line);
  CHECK(lines >= 20);
}

TEST_CASE("check: a host without the memory controller exits 1 with the remedy", "[integration]") {
  // A Raspberry Pi's /proc as a directory tree, read with --host-root.
  TempDir root;
  auto put = [&](const std::string& path, const std::string& text) {
    ecsa::fs::mkdir_p(ecsa::fs::dirname(root.path() + path));
    ecsa::fs::write_file_atomic(root.path() + path, text);
  };
  put("/proc/cgroups",
      "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\nmemory\t0\t1\t0\n");
  put("/proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  put("/sys/fs/cgroup/cgroup.controllers", "cpu\n");
  put("/proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0");

  Output text = run_ecsa("check --host-root " + root.path());
  INFO(text.out);
  CHECK(text.exit_code == 1);
  CHECK(has(text.out, "cgroup_enable=memory cgroup_memory=1"));
  CHECK(has(text.out, "/boot/firmware/cmdline.txt"));
  CHECK(has(text.out, "required features missing"));

  Output json = run_ecsa("check --format=json --host-root " + root.path());
  CHECK(json.exit_code == 1);
  auto arr = nlohmann::json::parse(json.out);
  CHECK(entry(arr, "cgroup.memory").at("status") == "missing");
}

TEST_CASE("check: bad flags are errors", "[integration]") {
  Output o = run_ecsa("check --format yaml");
  CHECK(o.exit_code == 1);
  CHECK(has(o.out, "ecsa-run: check: --format: expected text or json, got \"yaml\""));
  Output help = run_ecsa("check --help");
  CHECK(help.exit_code == 0);
  CHECK(has(help.out, "Usage: ecsa-run check"));
}

TEST_CASE("check: link kinds probed in a throwaway network namespace", "[integration]") {
  CHECK(ecsa::runtime::probe_link_kind("veth") == 0);
  CHECK(ecsa::runtime::probe_link_kind("bridge") == 0);
  CHECK(ecsa::runtime::probe_link_kind("ecsa-no-such-kind") == EOPNOTSUPP);
  // Nothing is left in this namespace.
  CHECK_FALSE(ecsa::fs::exists("/sys/class/net/ecsaprobe0"));
}
