// `ecsa-run check` on hosts described by directory trees: a Raspberry Pi with the memory
// controller off, a pure cgroup v2 box, a Yocto kernel lacking options.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/fs.hpp"
#include "runtime/host_check.hpp"

using namespace ecsa::runtime;

namespace {

// A fake host root under /tmp, removed when the test ends (also on failure).
class FakeHost {
 public:
  FakeHost() {
    char tmpl[] = "/tmp/ecsa-check-unit-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    root_ = tmpl;
  }
  ~FakeHost() { ecsa::fs::remove_all(root_); }
  const std::string& root() const { return root_; }

  void file(const std::string& path, const std::string& text) {
    std::string p = root_ + path;
    ecsa::fs::mkdir_p(ecsa::fs::dirname(p));
    ecsa::fs::write_file_atomic(p, text);
  }
  void dir(const std::string& path) { ecsa::fs::mkdir_p(root_ + path); }

  // What every Linux host has: the namespace files and a few knobs.
  void base() {
    for (const char* ns : {"user", "pid", "net", "ipc", "uts", "mnt", "cgroup"})
      file(std::string("/proc/self/ns/") + ns, "");
    file("/proc/sys/user/max_user_namespaces", "15000\n");
    file("/proc/sys/net/ipv4/ip_forward", "1\n");
    file("/proc/self/status", "Name:\tecsa-run\nSeccomp:\t0\nSeccomp_filters:\t0\n");
    file("/proc/filesystems", "nodev\tsysfs\nnodev\tproc\n\text4\nnodev\toverlay\n");
    file("/proc/cmdline", "console=ttyS0 root=/dev/vda\n");
  }

  std::vector<CheckResult> check() {
    HostCheckOptions o;
    o.root = root_;
    o.live_probes = false;
    o.kernel_release = "6.1.0-test";
    return check_host(o);
  }

 private:
  std::string root_;
};

const CheckResult& find(const std::vector<CheckResult>& rs, const std::string& name) {
  for (const auto& r : rs)
    if (r.name == name) return r;
  FAIL("no check named " << name);
  throw std::logic_error("unreachable");
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const char* kV1ProcCgroups =
    "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
    "cpuset\t3\t1\t1\ncpu\t1\t1\t1\ncpuacct\t2\t1\t1\nblkio\t7\t1\t1\n"
    "memory\t4\t32\t1\ndevices\t5\t1\t1\nfreezer\t6\t1\t1\nhugetlb\t0\t1\t1\npids\t8\t1\t1\n";

std::string v1_mountinfo(bool with_memory) {
  std::string m =
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
      "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
      "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
      "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
  if (with_memory)
    m += "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";
  return m;
}

}  // namespace

TEST_CASE("check: /proc/cgroups lines", "[unit]") {
  auto cs = parse_proc_cgroups(kV1ProcCgroups);
  REQUIRE(cs.size() == 9);
  CHECK(cs[4].name == "memory");
  CHECK(cs[4].hierarchy == 4);
  CHECK(cs[4].enabled);
  auto off = parse_proc_cgroups("#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t0\t1\t0\n");
  REQUIRE(off.size() == 1);
  CHECK_FALSE(off[0].enabled);
}

TEST_CASE("check: cgroup mounts in mountinfo", "[unit]") {
  auto ms = parse_cgroup_mounts(
      "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 master:2 - cgroup cgroup "
      "rw,cpu,cpuacct\n"
      "41 31 0:38 / /mnt/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate\n"
      "22 1 8:1 / / rw - ext4 /dev/vda rw\n");
  REQUIRE(ms.size() == 2);
  CHECK(ms[0].mount_point == "/sys/fs/cgroup/cpu,cpuacct");
  CHECK(ms[0].version == 1);
  CHECK(ms[0].options == std::vector<std::string>{"rw", "cpu", "cpuacct"});
  CHECK(ms[1].mount_point == "/mnt/with space");
  CHECK(ms[1].version == 2);
}

TEST_CASE("check: kernel config values", "[unit]") {
  std::string cfg =
      "CONFIG_VETH=m\nCONFIG_BRIDGE=y\n# CONFIG_OVERLAY_FS is not set\n"
      "CONFIG_LOCALVERSION=\"-rpi\"\nCONFIG_VETH_EXTRA=y\n";
  CHECK(kernel_config_value(cfg, "CONFIG_VETH") == "m");
  CHECK(kernel_config_value(cfg, "CONFIG_BRIDGE") == "y");
  CHECK(kernel_config_value(cfg, "CONFIG_OVERLAY_FS") == "");
  CHECK(kernel_config_value(cfg, "CONFIG_LOCALVERSION") == "-rpi");
  CHECK(kernel_config_value(cfg, "CONFIG_NF_TABLES") == "");
}

TEST_CASE("check: healthy hybrid host like this project's VM", "[unit]") {
  FakeHost h;
  h.base();
  h.file("/proc/cgroups", kV1ProcCgroups);
  h.file("/proc/self/mountinfo", v1_mountinfo(true));
  h.file("/sys/fs/cgroup/unified/cgroup.controllers", "hugetlb\n");
  h.file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  h.dir("/sys/module/bridge");
  h.dir("/sys/module/nf_tables");
  h.file("/lib/modules/6.1.0-test/modules.builtin", "kernel/drivers/net/veth.ko\n");
  auto rs = h.check();

  for (const auto& r : rs) {
    INFO(r.name << ": " << r.detail);
    CHECK(r.status == CheckStatus::ok);
    CHECK(r.remedy.empty());
  }
  CHECK_FALSE(any_required_missing(rs));
  CHECK(has(find(rs, "cgroup.hierarchy").detail, "hybrid"));
  CHECK(has(find(rs, "cgroup.hierarchy").detail,
            "cgroup2 at /sys/fs/cgroup/unified (controllers: hugetlb)"));
  CHECK(find(rs, "cgroup.memory").detail == "cgroup v1 at /sys/fs/cgroup/memory");
  CHECK(has(find(rs, "cgroup.hugetlb").detail, "cgroup v2"));
  CHECK(has(find(rs, "veth").detail, "modules.builtin"));
  CHECK(find(rs, "namespace.mount").detail == "/proc/self/ns/mnt");
}

TEST_CASE("check: Raspberry Pi with the memory controller disabled", "[unit]") {
  FakeHost h;
  h.base();
  std::string cgroups = kV1ProcCgroups;
  const std::string on = "memory\t4\t32\t1";
  cgroups.replace(cgroups.find(on), on.size(), "memory\t0\t1\t0");
  h.file("/proc/cgroups", cgroups);
  h.file("/proc/self/mountinfo", v1_mountinfo(false));
  h.file("/sys/fs/cgroup/unified/cgroup.controllers", "");
  h.file("/proc/device-tree/model", std::string("Raspberry Pi 4 Model B Rev 1.4") + '\0');
  h.file("/boot/firmware/cmdline.txt", "console=serial0,115200 root=PARTUUID=1 rootwait\n");
  h.file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  auto rs = h.check();

  const auto& mem = find(rs, "cgroup.memory");
  CHECK(mem.status == CheckStatus::missing);
  CHECK(mem.required);
  CHECK(has(mem.detail, "enabled=0 in /proc/cgroups"));
  CHECK(has(mem.remedy, "`cgroup_enable=memory cgroup_memory=1`"));
  CHECK(has(mem.remedy, "/boot/firmware/cmdline.txt"));
  CHECK(has(mem.remedy, "systemd.unified_cgroup_hierarchy=0"));
  CHECK(has(mem.remedy, "reboot"));
  CHECK(any_required_missing(rs));
  CHECK(find(rs, "cgroup.cpu").status == CheckStatus::ok);
}

TEST_CASE("check: cgroup_disable=memory on a generic host", "[unit]") {
  FakeHost h;
  h.base();
  h.file("/proc/cmdline", "root=/dev/sda1 cgroup_disable=memory quiet\n");
  h.file("/proc/cgroups",
         "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\nmemory\t0\t1\t0\n");
  h.file("/proc/self/mountinfo", "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  h.file("/sys/fs/cgroup/cgroup.controllers", "cpu\n");
  auto rs = h.check();
  const auto& mem = find(rs, "cgroup.memory");
  CHECK(mem.status == CheckStatus::missing);
  CHECK(has(mem.remedy, "remove cgroup_disable=memory"));
  CHECK(has(mem.remedy, "Raspberry Pi: /boot/firmware/cmdline.txt"));
}

TEST_CASE("check: pure cgroup v2 host", "[unit]") {
  FakeHost h;
  h.base();
  h.file("/proc/cgroups",
         "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t1\t1\ncpu\t0\t1\t1\n"
         "cpuacct\t0\t1\t1\nblkio\t0\t1\t1\nmemory\t0\t1\t1\ndevices\t0\t1\t1\n"
         "freezer\t0\t1\t1\nhugetlb\t0\t1\t1\npids\t0\t1\t1\n");
  h.file("/proc/self/mountinfo",
         "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n");
  h.file("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
  h.file("/sys/fs/cgroup/system.slice/cpu.max", "max 100000\n");
  auto rs = h.check();

  CHECK(has(find(rs, "cgroup.hierarchy").detail, "cgroup2 at /sys/fs/cgroup"));
  CHECK_FALSE(has(find(rs, "cgroup.hierarchy").detail, "hybrid"));
  for (const char* c : {"memory", "cpu", "cpuacct", "cpuset", "pids", "devices", "freezer", "blkio",
                        "hugetlb", "cpu_quota"}) {
    const auto& r = find(rs, std::string("cgroup.") + c);
    INFO(r.name << ": " << r.detail);
    CHECK(r.status == CheckStatus::ok);
  }
  CHECK(has(find(rs, "cgroup.memory").detail, "cgroup v2"));
  CHECK(find(rs, "cgroup.cpu_quota").detail == "/sys/fs/cgroup/system.slice/cpu.max");
}

TEST_CASE("check: Yocto kernel lacking options names the CONFIG_ options", "[unit]") {
  FakeHost h;
  h.base();
  h.file("/proc/filesystems", "nodev\tsysfs\n\text4\n");
  h.file("/proc/cgroups", kV1ProcCgroups);
  h.file("/proc/self/mountinfo", v1_mountinfo(true));
  h.file("/sys/fs/cgroup/unified/cgroup.controllers", "");
  // No cpu.cfs_quota_us in the cpu hierarchy: CONFIG_CFS_BANDWIDTH is off.
  h.dir("/sys/fs/cgroup/cpu");
  h.file("/boot/config-6.1.0-test",
         "CONFIG_NF_TABLES=y\nCONFIG_NFT_NAT=y\nCONFIG_NFT_CT=y\n# CONFIG_NFT_MASQ is not set\n"
         "# CONFIG_BRIDGE is not set\nCONFIG_VETH=m\n# CONFIG_OVERLAY_FS is not set\n"
         "CONFIG_SECCOMP=y\n# CONFIG_SECCOMP_FILTER is not set\n");
  h.file("/lib/modules/6.1.0-test/modules.dep", "kernel/drivers/net/veth.ko.xz:\n");
  h.file("/proc/sys/net/ipv4/ip_forward", "0\n");
  auto rs = h.check();

  const auto& quota = find(rs, "cgroup.cpu_quota");
  CHECK(quota.status == CheckStatus::missing);
  CHECK(has(quota.remedy, "CONFIG_CFS_BANDWIDTH=y"));
  CHECK(has(quota.remedy, "Yocto"));

  const auto& bridge = find(rs, "bridge");
  CHECK(bridge.status == CheckStatus::missing);
  CHECK(has(bridge.detail, "CONFIG_BRIDGE is not set in /boot/config-6.1.0-test"));
  CHECK(has(bridge.remedy, "CONFIG_BRIDGE=y"));

  const auto& veth = find(rs, "veth");
  CHECK(veth.status == CheckStatus::ok);
  CHECK(has(veth.detail, "CONFIG_VETH=m"));

  const auto& nft = find(rs, "nftables");
  CHECK(nft.status == CheckStatus::missing);
  CHECK(has(nft.detail, "CONFIG_NFT_MASQ"));
  CHECK(has(nft.remedy, "CONFIG_NFT_MASQ=y"));

  const auto& overlay = find(rs, "overlayfs");
  CHECK(overlay.status == CheckStatus::missing);
  CHECK_FALSE(overlay.required);
  CHECK(has(overlay.remedy, "CONFIG_OVERLAY_FS=y"));

  const auto& seccomp = find(rs, "seccomp");
  CHECK(seccomp.status == CheckStatus::missing);
  CHECK(has(seccomp.remedy, "CONFIG_SECCOMP_FILTER=y"));

  const auto& fwd = find(rs, "ip_forward");
  CHECK(fwd.status == CheckStatus::warning);
  CHECK_FALSE(fwd.required);

  CHECK(any_required_missing(rs));
}

TEST_CASE("check: overlay as a loadable module, nf_tables unknown", "[unit]") {
  FakeHost h;
  h.base();
  h.file("/proc/filesystems", "nodev\tsysfs\n");
  h.file(
      "/lib/modules/6.1.0-test/modules.dep",
      "kernel/fs/overlayfs/overlay.ko.zst:\nkernel/net/bridge/bridge.ko: kernel/net/llc/llc.ko\n");
  auto rs = h.check();
  CHECK(find(rs, "overlayfs").status == CheckStatus::ok);
  CHECK(has(find(rs, "overlayfs").detail, "overlay.ko.zst"));
  CHECK(find(rs, "bridge").status == CheckStatus::ok);
  const auto& nft = find(rs, "nftables");
  CHECK(nft.status == CheckStatus::missing);
  CHECK(has(nft.remedy, "modprobe nf_tables"));
  CHECK(has(nft.remedy, "CONFIG_NF_TABLES=y"));
}

TEST_CASE("check: no /proc mounted", "[unit]") {
  FakeHost h;
  auto rs = h.check();
  const auto& pid = find(rs, "namespace.pid");
  CHECK(pid.status == CheckStatus::missing);
  CHECK(has(pid.remedy, "mount -t proc proc /proc"));
  CHECK(find(rs, "cgroup.hierarchy").status == CheckStatus::missing);
  CHECK(find(rs, "user_namespaces").status == CheckStatus::missing);
  CHECK_FALSE(find(rs, "user_namespaces").required);
  CHECK(any_required_missing(rs));
}

TEST_CASE("check: user namespaces switched off", "[unit]") {
  FakeHost h;
  h.base();
  h.file("/proc/sys/user/max_user_namespaces", "0\n");
  auto rs = h.check();
  const auto& r = find(rs, "user_namespaces");
  CHECK(r.status == CheckStatus::missing);
  CHECK(has(r.remedy, "user.max_user_namespaces"));
}
