// Layout detection from mountinfo texts, and the host status report over fake layouts.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "cgroups/cgroups.hpp"
#include "cgroups/controller.hpp"
#include "common/fs.hpp"

using namespace ecsa::cgroups;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ecsa-cgroups-unit-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { ecsa::fs::remove_all(path); }
};

// As on the test VM: v1 controllers, cpu and cpuacct mounted apart, cgroup2 at unified.
const char kHybrid[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,none,xattr,release_agent=/x,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

// As systemd sets up v1 on most distributions: cpu and cpuacct co-mounted, with
// optional fields before the separator.
const char kCoMounted[] =
    "25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:8 - cgroup cgroup rw,cpu,cpuacct\n"
    "26 24 0:23 / /sys/fs/cgroup/net_cls,net_prio rw shared:9 master:1 - cgroup cgroup rw,net_cls,net_prio\n"
    "27 24 0:24 / /sys/fs/cgroup/pids rw shared:10 - cgroup cgroup rw,pids\n"
    "28 24 0:25 /docker/abc /mnt/pids-bind rw - cgroup cgroup rw,pids\n";

const char kPureV2[] =
    "22 1 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
    "90 22 0:21 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n";

}  // namespace

TEST_CASE("cgroup layout: hybrid host from mountinfo", "[unit][cgroups]") {
  Layout l = Layout::parse_mountinfo(kHybrid);
  CHECK(l.mode == Mode::hybrid);
  CHECK(l.v1_mount("cpu") == "/sys/fs/cgroup/cpu");
  CHECK(l.v1_mount("cpuacct") == "/sys/fs/cgroup/cpuacct");
  CHECK(l.v1_mount("memory") == "/sys/fs/cgroup/memory");
  CHECK(l.v1_mount("name=systemd") == "/sys/fs/cgroup/systemd");
  CHECK(l.v1_mount("xattr").empty());
  CHECK(l.v1_mount("none").empty());
  CHECK(l.v1_mount("pids").empty());
  CHECK(l.v2_mount == "/sys/fs/cgroup/unified");
  CHECK(l.v1_roots().size() == 5);
}

TEST_CASE("cgroup layout: co-mounted cpu,cpuacct map to one mount point", "[unit][cgroups]") {
  Layout l = Layout::parse_mountinfo(kCoMounted);
  CHECK(l.mode == Mode::v1);
  CHECK(l.v1_mount("cpu") == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(l.v1_mount("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(l.v1_mount("net_prio") == "/sys/fs/cgroup/net_cls,net_prio");
  // A bind mount of a sub-cgroup does not replace the hierarchy's root mount.
  CHECK(l.v1_mount("pids") == "/sys/fs/cgroup/pids");
  CHECK(l.v1_roots().size() == 3);
  CHECK(l.v2_mount.empty());
}

TEST_CASE("cgroup layout: pure v2 host, escaped mount points", "[unit][cgroups]") {
  Layout l = Layout::parse_mountinfo(kPureV2);
  CHECK(l.mode == Mode::v2);
  CHECK(l.v2_mount == "/sys/fs/cgroup");
  CHECK(l.v1_mounts.empty());
  CHECK(l.v1_roots().empty());
  Layout e = Layout::parse_mountinfo("90 22 0:21 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n");
  CHECK(e.v2_mount == "/mnt/my cgroup");
}

TEST_CASE("cgroup layout: host layout is detected once", "[unit][cgroups]") {
  const Layout& a = Layout::host();
  const Layout& b = Layout::host();
  CHECK(&a == &b);
}

TEST_CASE("cgroup status: kernel, mount and CFS bandwidth per controller", "[unit][cgroups]") {
  TempDir t;
  const std::string proc_cgroups =
      "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
      "cpuset\t3\t1\t1\ncpu\t1\t1\t1\ncpuacct\t2\t1\t1\nmemory\t0\t1\t0\n"
      "devices\t5\t1\t1\nfreezer\t6\t1\t1\npids\t0\t1\t1\n";
  Layout l = Layout::fake_v1(t.path, {"cpu", "cpuacct", "cpuset", "devices", "freezer"});
  auto st = controller_status(l, proc_cgroups);
  REQUIRE(st.size() == 6);
  CHECK(st[0].name == "cpu");
  CHECK(st[0].in_kernel);
  CHECK(st[0].available);
  CHECK(st[0].where == t.path + "/cpu");
  CHECK(st[0].cfs_bandwidth == true);
  CHECK(st[2].name == "memory");
  CHECK_FALSE(st[2].in_kernel);
  CHECK_FALSE(st[2].available);
  CHECK(st[2].note == "not in the kernel or disabled (kernel cmdline: cgroup_enable=memory cgroup_memory=1)");
  CHECK(st[3].name == "pids");
  CHECK(st[3].in_kernel);
  CHECK_FALSE(st[3].available);
  CHECK(st[3].note == "not mounted (mount -t cgroup -o pids cgroup /sys/fs/cgroup/pids)");

  // Without cpu.cfs_quota_us the kernel has no CFS bandwidth control.
  ::unlink((t.path + "/cpu/cpu.cfs_quota_us").c_str());
  st = controller_status(l, proc_cgroups);
  CHECK(st[0].cfs_bandwidth == false);
  CHECK_THAT(st[0].note, Catch::Matchers::Contains("CONFIG_CFS_BANDWIDTH"));
}

TEST_CASE("cgroup status: v2 controllers and core features", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v2(t.path);
  l.v2_controllers.erase("pids");
  const std::string proc_cgroups = "cpuset 0 1 1\ncpu 0 1 1\nmemory 0 1 1\npids 0 1 1\n";
  Cgroup cg(l, "/probe");
  cg.create();  // a child with the cpu controller tells whether cpu.max exists
  auto st = controller_status(l, proc_cgroups);
  CHECK(st[0].available);
  CHECK(st[0].where == "cgroup2 " + t.path + "/v2");
  CHECK(st[0].cfs_bandwidth == true);
  CHECK_FALSE(st[3].available);
  CHECK_THAT(st[3].note, Catch::Matchers::StartsWith("not in " + t.path + "/v2/cgroup.controllers"));
  CHECK(st[4].name == "devices");
  CHECK(st[4].in_kernel);
  CHECK(st[4].available);
  CHECK_THAT(st[4].note, Catch::Matchers::Contains("eBPF"));
  CHECK(st[5].name == "freezer");
  CHECK(st[5].available);
  cg.destroy();
}
