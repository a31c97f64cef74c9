// Cgroup create/apply/join/destroy over fake v1, v2 and hybrid hierarchies in a temporary
// directory: what the controllers wrote, in which order, and the errors.
#include <catch2/catch.hpp>

// GCC 12 at -O1 with -fsanitize=address warns falsely about filling a std::optional<std::string>
// of a default-constructed Resources (make asan builds with -Werror).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>

#include "cgroups/cgroups.hpp"
#include "cgroups/controller.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

using namespace ecsa::cgroups;
namespace fs = ecsa::fs;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ecsa-cgroups-unit-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string read(const std::string& rel) const {
    std::string s = fs::read_file(path + "/" + rel);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  void put(const std::string& rel, const std::string& v) const { fs::write_file_atomic(path + "/" + rel, v); }
  // The writes apply() made, one "file value" per entry, oldest first.
  std::vector<std::string> writes() const {
    std::vector<std::string> out;
    std::istringstream in(fs::read_file_if_exists(path + "/writes.log").value_or(""));
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
  }
  void clear_writes() const { ::unlink((path + "/writes.log").c_str()); }
};

const std::vector<std::string> kAllV1 = {"cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "freezer"};

}  // namespace

TEST_CASE("cgroup v1: create copies cpuset cpus and mems into every new level", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, kAllV1);
  Cgroup cg(l, "/ecsa/task1/ctr");
  CHECK_FALSE(cg.exists());
  cg.create();
  CHECK(cg.exists());
  for (const char* c : {"cpu", "cpuacct", "memory", "pids", "devices", "freezer"})
    CHECK(fs::is_dir(t.path + "/" + std::string(c) + "/ecsa/task1/ctr"));
  CHECK(t.read("cpuset/ecsa/cpuset.cpus") == "0-1");
  CHECK(t.read("cpuset/ecsa/task1/cpuset.mems") == "0");
  CHECK(t.read("cpuset/ecsa/task1/ctr/cpuset.cpus") == "0-1");
  CHECK(cg.dir("memory") == t.path + "/memory/ecsa/task1/ctr");
  CHECK(cg.dir("").empty());
  CHECK(cg.path() == "/ecsa/task1/ctr");
  cg.create();  // again: existing directories are fine
}

TEST_CASE("cgroup v1: cpu, cpuset, memory, pids and devices writes", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, {"cpu,cpuacct", "cpuset", "memory", "pids", "devices"});
  Cgroup cg(l, "/ecsa/c1");
  cg.create();
  CHECK(cg.dir("cpuacct") == t.path + "/cpu,cpuacct/ecsa/c1");
  Resources r;
  r.cpu.shares = 512;
  r.cpu.quota = 25000;
  r.cpu.period = 100000;
  r.cpu.cpus.emplace("1");
  r.cpu.mems.emplace("0");
  r.memory.limit = 64 << 20;
  r.memory.reservation = 32 << 20;
  r.memory.swappiness = 10;
  r.memory.disable_oom_killer = true;
  r.memory.use_hierarchy = true;
  r.pids.limit = 100;
  r.devices = {DeviceRule{false, 'a', std::nullopt, std::nullopt, "rwm"},
               DeviceRule{true, 'c', 1, 3, "rwm"}, DeviceRule{true, 'c', 136, std::nullopt, "rw"}};
  cg.apply(r);
  CHECK(t.read("cpu,cpuacct/ecsa/c1/cpu.shares") == "512");
  CHECK(t.read("cpu,cpuacct/ecsa/c1/cpu.cfs_quota_us") == "25000");
  CHECK(t.read("cpu,cpuacct/ecsa/c1/cpu.cfs_period_us") == "100000");
  CHECK(t.read("cpuset/ecsa/c1/cpuset.cpus") == "1");
  CHECK(t.read("memory/ecsa/c1/memory.limit_in_bytes") == std::to_string(64 << 20));
  CHECK(t.read("memory/ecsa/c1/memory.soft_limit_in_bytes") == std::to_string(32 << 20));
  CHECK(t.read("memory/ecsa/c1/memory.swappiness") == "10");
  CHECK(t.read("memory/ecsa/c1/memory.oom_control") == "1");
  CHECK(t.read("pids/ecsa/c1/pids.max") == "100");
  CHECK(t.read("devices/ecsa/c1/devices.deny") == "a *:* rwm");
  CHECK(t.read("devices/ecsa/c1/devices.allow") == "c 1:3 rwm\nc 136:* rw");
  // use_hierarchy was already 1: not written again (the kernel refuses it once there are children).
  for (const auto& w : t.writes()) CHECK(w.find("use_hierarchy") == std::string::npos);

  // Unlimited: quota -1, pids max, memory -1 takes memsw along.
  Resources u;
  u.cpu.quota = -1;
  u.pids.limit = 0;
  u.memory.limit = -1;
  cg.apply(u);
  CHECK(t.read("cpu,cpuacct/ecsa/c1/cpu.cfs_quota_us") == "-1");
  CHECK(t.read("pids/ecsa/c1/pids.max") == "max");
  CHECK(t.read("memory/ecsa/c1/memory.limit_in_bytes") == "-1");
  CHECK(t.read("memory/ecsa/c1/memory.memsw.limit_in_bytes") == "-1");
  cg.destroy();
  CHECK_FALSE(cg.exists());
}

TEST_CASE("cgroup v1: memory and memsw order when raising and lowering", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, {"memory"});
  Cgroup cg(l, "/c");
  cg.create();
  t.put("memory/c/memory.limit_in_bytes", "104857600\n");
  t.put("memory/c/memory.memsw.limit_in_bytes", "104857600\n");
  t.clear_writes();
  Resources r;
  SECTION("raising: memsw first") {
    r.memory.limit = 200 << 20;
    r.memory.swap = 300 << 20;
    cg.apply(r);
    CHECK(t.writes() == std::vector<std::string>{"memory/c/memory.memsw.limit_in_bytes 314572800",
                                                 "memory/c/memory.limit_in_bytes 209715200"});
  }
  SECTION("lowering: limit first") {
    r.memory.limit = 50 << 20;
    r.memory.swap = 50 << 20;
    cg.apply(r);
    CHECK(t.writes() == std::vector<std::string>{"memory/c/memory.limit_in_bytes 52428800",
                                                 "memory/c/memory.memsw.limit_in_bytes 52428800"});
  }
  SECTION("unlimited swap: memsw first") {
    r.memory.limit = 50 << 20;
    r.memory.swap = -1;
    cg.apply(r);
    CHECK(t.writes() == std::vector<std::string>{"memory/c/memory.memsw.limit_in_bytes -1",
                                                 "memory/c/memory.limit_in_bytes 52428800"});
  }
  SECTION("no swap accounting: the swap limit is left out") {
    ::unlink((t.path + "/memory/c/memory.memsw.limit_in_bytes").c_str());
    r.memory.limit = 50 << 20;
    r.memory.swap = 100 << 20;
    cg.apply(r);
    CHECK(t.writes() == std::vector<std::string>{"memory/c/memory.limit_in_bytes 52428800"});
  }
  SECTION("swappiness above 100") {
    r.memory.swappiness = 101;
    CHECK_THROWS_WITH(cg.apply(r), "memory swappiness 101: valid range is 0-100");
  }
  cg.destroy();
}

TEST_CASE("cgroup v1: an unavailable controller asked for a limit is an error", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, {"cpu", "pids"});
  Cgroup cg(l, "/c");
  cg.create();
  Resources r;
  r.pids.limit = 10;
  r.memory.limit = 1 << 20;
  CHECK_THROWS_WITH(cg.apply(r),
                    "memory cgroup controller not available (kernel cmdline: cgroup_enable=memory cgroup_memory=1)");
  CHECK(t.writes().empty());  // nothing written before the check
  Resources c;
  c.cpu.cpus.emplace("0");
  CHECK_THROWS_WITH(cg.apply(c), "cpuset cgroup controller not available (kernel cmdline: cgroup_enable=cpuset)");
  Resources u;
  u.unified["memory.high"] = "1M";
  CHECK_THROWS_WITH(cg.apply(u), "linux.resources.unified: needs cgroup v2, this host has only cgroup v1");
  // Without CFS bandwidth control, a quota is refused with the remedy.
  ::unlink((t.path + "/cpu/c/cpu.cfs_quota_us").c_str());
  Resources q;
  q.cpu.quota = 50000;
  CHECK_THROWS_WITH(cg.apply(q), Catch::Matchers::StartsWith(
                                     "cpu quota: CFS bandwidth control not available (kernel config: CONFIG_CFS_BANDWIDTH=y)"));
  // Nothing asked of memory: fine without it.
  Resources p;
  p.pids.limit = 10;
  cg.apply(p);
  cg.destroy();
}

TEST_CASE("cgroup v1: a refused write names the file, the value and the errno text", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, {"pids"});
  Cgroup cg(l, "/c");
  cg.create();
  ::unlink((t.path + "/pids/c/pids.max").c_str());
  Resources r;
  r.pids.limit = 5;
  CHECK_THROWS_WITH(cg.apply(r), "write 5 to " + t.path + "/pids/c/pids.max: No such file or directory");
  cg.destroy();
}

TEST_CASE("cgroup v2: runc's translations and subtree_control", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v2(t.path);
  Cgroup cg(l, "/ecsa/task/ctr");
  cg.create();
  for (const char* d : {"v2", "v2/ecsa", "v2/ecsa/task"})
    CHECK(t.read(std::string(d) + "/cgroup.subtree_control") == "cpu cpuset memory pids");
  CHECK(t.read("v2/ecsa/task/ctr/cgroup.subtree_control").empty());
  CHECK(cg.dir("") == t.path + "/v2/ecsa/task/ctr");
  CHECK(cg.dir("memory") == t.path + "/v2/ecsa/task/ctr");

  Resources r;
  r.cpu.shares = 1024;
  r.cpu.quota = 50000;
  r.cpu.period = 100000;
  r.cpu.cpus.emplace("0-1");
  r.memory.limit = 64 << 20;
  r.memory.reservation = 16 << 20;
  r.memory.swap = 96 << 20;
  r.memory.swappiness = 30;  // no v2 file: left out
  r.pids.limit = 42;
  r.devices = {DeviceRule{false, 'a', std::nullopt, std::nullopt, "rwm"}};  // eBPF: nothing to attach to here
  r.unified["memory.high"] = "50000000";
  cg.apply(r);
  const std::string d = "v2/ecsa/task/ctr/";
  CHECK(t.read(d + "cpu.weight") == "39");
  CHECK(t.read(d + "cpu.max") == "50000 100000");
  CHECK(t.read(d + "cpuset.cpus") == "0-1");
  CHECK(t.read(d + "memory.max") == std::to_string(64 << 20));
  CHECK(t.read(d + "memory.low") == std::to_string(16 << 20));
  CHECK(t.read(d + "memory.swap.max") == std::to_string(32 << 20));
  CHECK(t.read(d + "memory.high") == "50000000");
  CHECK(t.read(d + "pids.max") == "42");
  // memory.swap.max goes before memory.max, as runc writes them.
  auto w = t.writes();
  auto pos = [&](const std::string& f) { return std::find_if(w.begin(), w.end(), [&](const std::string& s) { return s.rfind(d + f + " ", 0) == 0; }) - w.begin(); };
  CHECK(pos("memory.swap.max") < pos("memory.max"));

  SECTION("unlimited") {
    Resources u;
    u.cpu.quota = -1;
    u.memory.limit = -1;
    u.pids.limit = -1;
    cg.apply(u);
    CHECK(t.read(d + "cpu.max") == "max 100000");
    CHECK(t.read(d + "memory.max") == "max");
    CHECK(t.read(d + "memory.swap.max") == "max");
    CHECK(t.read(d + "pids.max") == "max");
  }
  SECTION("a new period keeps the quota in force") {
    Resources p;
    p.cpu.period = 50000;
    cg.apply(p);
    CHECK(t.read(d + "cpu.max") == "50000 50000");
  }
  SECTION("swap below the limit") {
    Resources s;
    s.memory.limit = 64 << 20;
    s.memory.swap = 32 << 20;
    CHECK_THROWS_WITH(cg.apply(s), "memory swap 33554432: memory+swap must be >= the memory limit 67108864");
  }
  SECTION("realtime is v1 only") {
    Resources rt;
    rt.cpu.realtime_runtime = 1000;
    CHECK_THROWS_WITH(cg.apply(rt), Catch::Matchers::StartsWith("cpu realtime runtime/period: not supported on cgroup v2"));
  }
  SECTION("unified keys stay inside the cgroup") {
    Resources b;
    b.pids.limit = 3;
    b.unified["../cgroup.procs"] = "1";
    t.clear_writes();
    CHECK_THROWS_WITH(cg.apply(b), "linux.resources.unified: invalid key \"../cgroup.procs\"");
    CHECK(t.writes().empty());  // refused before anything was written
    Resources m;
    m.unified["io.max"] = "8:0 rbps=1";  // io enabled on the way down for it
    cg.apply(m);
    CHECK(t.read("v2/ecsa/task/cgroup.subtree_control") == "cpu cpuset io memory pids");
    CHECK(t.read(d + "io.max") == "8:0 rbps=1");
    Resources x;
    x.unified["rdma.max"] = "x";
    CHECK_THROWS_WITH(cg.apply(x), "linux.resources.unified.rdma.max: no " + t.path + "/" + d +
                                       "rdma.max (controller not enabled or not supported by the kernel)");
  }
  cg.destroy();
  CHECK_FALSE(fs::exists(t.path + "/v2/ecsa/task/ctr"));
  CHECK(fs::exists(t.path + "/v2/ecsa/task"));  // parents are not ours to remove
}

TEST_CASE("cgroup v2: a controller missing from cgroup.controllers", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v2(t.path);
  l.v2_controllers.erase("memory");
  Cgroup cg(l, "/c");
  cg.create();
  CHECK(t.read("v2/cgroup.subtree_control") == "cpu cpuset pids");
  Resources r;
  r.memory.limit = 1 << 20;
  CHECK_THROWS_WITH(cg.apply(r),
                    "memory cgroup controller not available (kernel cmdline: cgroup_enable=memory cgroup_memory=1)");
  cg.destroy();
}

TEST_CASE("cgroup v2: shares to weight", "[unit][cgroups]") {
  CHECK(shares_to_weight(2) == 1);
  CHECK(shares_to_weight(1024) == 39);
  CHECK(shares_to_weight(262144) == 10000);
  CHECK(shares_to_weight(0) == 1);
  CHECK(shares_to_weight(1000000) == 10000);
}

TEST_CASE("cgroup hybrid: v1 controllers plus the same path in the unified hierarchy", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_hybrid(t.path, {"cpu", "memory", "pids", "freezer"});
  Cgroup cg(l, "/ecsa/x");
  cg.create();
  CHECK(fs::is_dir(t.path + "/unified/ecsa/x"));
  CHECK(cg.dir("") == t.path + "/unified/ecsa/x");
  CHECK(t.read("unified/cgroup.subtree_control").empty());  // no controller enabled in unified
  Resources r;
  r.memory.limit = 8 << 20;
  r.pids.limit = 7;
  cg.apply(r);
  CHECK(t.read("memory/ecsa/x/memory.limit_in_bytes") == std::to_string(8 << 20));
  cg.add_process(4242);
  cg.add_process(4343);
  for (const char* d : {"cpu", "memory", "pids", "freezer", "unified"})
    CHECK(t.read(std::string(d) + "/ecsa/x/cgroup.procs") == "4242\n4343");
  CHECK(cg.pids() == std::vector<pid_t>{4242, 4343});
  cg.set_frozen(true);
  CHECK(t.read("freezer/ecsa/x/freezer.state") == "FROZEN");
  cg.set_frozen(false);
  CHECK(t.read("freezer/ecsa/x/freezer.state") == "THAWED");
  cg.destroy();
  CHECK_FALSE(cg.exists());
  CHECK(cg.pids().empty());
}

TEST_CASE("cgroup: memory events of v1 and v2", "[unit][cgroups]") {
  TempDir t;
  SECTION("v1") {
    Layout l = Layout::fake_v1(t.path, {"memory"});
    Cgroup cg(l, "/c");
    cg.create();
    t.put("memory/c/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    t.put("memory/c/memory.failcnt", "17\n");
    t.put("memory/c/memory.max_usage_in_bytes", "16777216\n");
    MemoryEvents e = cg.memory_events();
    CHECK(e.oom_kill == 2);
    CHECK(e.oom == 17);
    CHECK(e.max_usage == 16777216);
    cg.destroy();
  }
  SECTION("v2") {
    Layout l = Layout::fake_v2(t.path);
    Cgroup cg(l, "/c");
    cg.create();
    t.put("v2/c/memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 1\n");
    t.put("v2/c/memory.peak", "4096\n");
    MemoryEvents e = cg.memory_events();
    CHECK(e.oom_kill == 1);
    CHECK(e.oom == 3);
    CHECK(e.max_usage == 4096);
    cg.set_frozen(true);
    CHECK(t.read("v2/c/cgroup.freeze") == "1");
    cg.set_frozen(false);
    cg.destroy();
  }
  SECTION("no memory controller: zeros") {
    Layout l = Layout::fake_v1(t.path, {"pids"});
    Cgroup cg(l, "/c");
    cg.create();
    MemoryEvents e = cg.memory_events();
    CHECK(e.oom_kill == 0);
    CHECK(e.max_usage == 0);
    CHECK_THROWS_WITH(cg.set_frozen(true), "freezer cgroup controller not available (kernel config: CONFIG_CGROUP_FREEZER=y)");
    cg.destroy();
  }
}

TEST_CASE("cgroup: destroy removes children first, a missing cgroup is fine", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, {"cpu", "memory"});
  Cgroup task(l, "/ecs/t1");
  Cgroup a(l, "/ecs/t1/a"), b(l, "/ecs/t1/b/deeper");
  a.create();
  b.create();
  a.add_process(11);
  b.add_process(12);
  CHECK(task.pids() == std::vector<pid_t>{11, 12});  // the children's processes count
  CHECK(a.pids() == std::vector<pid_t>{11});
  task.destroy();
  CHECK_FALSE(task.exists());
  CHECK_FALSE(fs::exists(t.path + "/memory/ecs/t1"));
  CHECK(fs::is_dir(t.path + "/memory/ecs"));
  task.destroy();
}

TEST_CASE("cgroup: paths are checked", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, {"cpu"});
  CHECK_THROWS_WITH(Cgroup(l, "/a/../../etc"), "cgroup path \"/a/../../etc\": \"..\" is not allowed");
  CHECK_THROWS_WITH(Cgroup(l, "/"), "cgroup path \"/\": must name a cgroup below the root");
  CHECK(Cgroup(l, "ecs//x/").path() == "/ecs/x");
}

TEST_CASE("cgroup: a failed create leaves nothing behind", "[unit][cgroups]") {
  TempDir t;
  Layout l = Layout::fake_v1(t.path, {"cpu", "memory"});
  // A file where the memory directory would go makes mkdir fail after cpu's succeeded.
  t.put("memory/ecsa", "x");
  Cgroup cg(l, "/ecsa/c");
  CHECK_THROWS_WITH(cg.create(), Catch::Matchers::StartsWith("mkdir " + t.path + "/memory/ecsa/c: "));
  CHECK_FALSE(fs::exists(t.path + "/cpu/ecsa"));
}
