// `ecsa-run task ...` end to end: the fixture images in a real registry on 127.0.0.1:51670
// (the name the ECS agent's functional task definitions use), real containers under the
// task supervisor, real cgroups, bridge networking and HTTP. Every test uses its own store,
// runtime root, bridge and subnet, and removes its tasks.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "tests/support/process_harness.hpp"
#include "tests/support/registry.hpp"

using ecsa::json::Json;
using ecsa::test::CmdResult;

namespace {

constexpr const char* kTaskdefRegistry = "127.0.0.1:51670";

// One registry for the whole file, on 127.0.0.1:51670 when that port is free (another test
// run on the machine may hold it: then any port, and the task definitions are rewritten).
ecsa::test::TestRegistry* registry() {
  static std::unique_ptr<ecsa::test::TestRegistry> reg;
  static bool tried = false;
  if (!tried) {
    tried = true;
    if (!ecsa::test::registry_tools_available()) return nullptr;
    // Only when nothing listens there: a registry of another run would answer the readiness
    // probe and then go away with that run.
    bool free = false;
    {
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(51670);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      free = s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      if (s >= 0) ::close(s);
    }
    try {
      ecsa::test::TestRegistryOptions o;
      o.port = free ? 51670 : 0;
      reg = std::make_unique<ecsa::test::TestRegistry>(o);
    } catch (const std::exception&) {
      reg = std::make_unique<ecsa::test::TestRegistry>();
    }
    reg->push_fixtures();
  }
  return reg.get();
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

std::string shared_taskdefs() {
  for (std::string d :
       {ecsa::test::source_dir() + "/../shared/taskdefs", std::string("/tmp/shared/taskdefs")})
    if (ecsa::fs::is_dir(d)) return d + "/ecs-agent-functional";
  return "";
}

using ecsa::test::split_lines;

struct TaskEnv : ecsa::test::IsolatedEcsa {
  TaskEnv() : IsolatedEcsa("ecsa-task", "ecsak", 222) {}
  std::string host = registry()->host();

  // Writes a task definition, with the taskdefs' registry name pointing at ours.
  std::string write(const std::string& name, const std::string& json_text) const {
    std::string path = dir.path() + "/" + name + ".json";
    ecsa::fs::write_file_atomic(path, replace_all(json_text, kTaskdefRegistry, host));
    return path;
  }
  Json run(const std::string& path, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"task", "run",      "--root", root, "--progress",
                                     "none", "--format", "json",   path};
    args.insert(args.end(), extra.begin(), extra.end());
    CmdResult r = ecsa(args);
    INFO(r.err);
    INFO(r.out);
    REQUIRE(!r.out.empty());
    Json j = Json::parse(r.out);
    j["_exit"] = r.code;
    return j;
  }
  Json describe(const std::string& id) const {
    CmdResult r = ecsa({"task", "describe", "--format", "json", id});
    INFO(r.err);
    REQUIRE(r.code == 0);
    return Json::parse(r.out);
  }
  // Polls describe until pred holds (or the time runs out); returns the last record.
  template <class P>
  Json wait_until(const std::string& id, P pred, int seconds) const {
    Json j;
    for (int i = 0; i < seconds * 10; ++i) {
      j = describe(id);
      if (pred(j)) return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return j;
  }
  std::string logs(const std::string& id, const std::string& container) const {
    CmdResult r = ecsa({"task", "logs", id, container});
    return r.out + r.err;
  }
  ~TaskEnv() {
    for (const auto& id : split_lines(ecsa({"task", "ls", "-q"}).out))
      ecsa({"task", "rm", "-f", "--root", root, id});
    ecsa({"gc", "--root", root});
  }
};

const Json& container(const Json& task, const std::string& name) {
  for (const auto& c : task["containers"])
    if (c["name"] == name) return c;
  FAIL("no container " << name << " in " << task.dump());
  static Json none;
  return none;
}

#define NEED_REGISTRY()                              \
  if (!registry()) {                                 \
    WARN("registry tools missing: run `make deps`"); \
    return;                                          \
  }

}  // namespace

TEST_CASE("task run: the ECS agent's functional task definitions reach their upstream outcomes",
          "[integration][ecs][task]") {
  NEED_REGISTRY();
  std::string dir = shared_taskdefs();
  if (dir.empty()) {
    WARN("../shared/taskdefs not found");
    return;
  }
  TaskEnv env;
  auto load = [&](const std::string& name) {
    return env.write(name, ecsa::fs::read_file(dir + "/" + name + "/task-definition.json"));
  };
  for (std::string name :
       {"simple-exit", "hostname", "working-dir", "dns-servers", "task-local-vol"}) {
    SECTION(name) {
      Json t = env.run(load(name), {"--wait"});
      INFO(t.dump(2));
      REQUIRE(t["lastStatus"] == "STOPPED");
      REQUIRE(t["stoppedReason"] == "Essential container in task exited");
      REQUIRE(container(t, "exit")["exitCode"] == 42);
      REQUIRE(t["_exit"] == 42);
      if (name == "task-local-vol") {
        // The task-scoped volume (a tmpfs) is gone with the task.
        std::string vols = env.state + "/tasks/" + t["taskId"].get<std::string>() + "/volumes";
        REQUIRE((!ecsa::fs::exists(vols) || ecsa::fs::list_dir(vols).empty()));
      }
    }
  }
  SECTION("container-ordering-success") {
    Json t = env.run(load("container-ordering-success"), {"--wait"});
    INFO(t.dump(2));
    REQUIRE(container(t, "success-dependency")["exitCode"] == 0);
    REQUIRE(container(t, "success")["exitCode"] == 0);
    REQUIRE(env.logs(t["taskId"], "success") == "hi\n");
  }
  SECTION("oom-container") {
    Json t = env.run(load("oom-container"), {"--wait"});
    INFO(t.dump(2));
    REQUIRE(container(t, "error")["reason"] ==
            "OutOfMemoryError: Container killed due to memory usage");
    REQUIRE(container(t, "error")["exitCode"] == 137);
  }
  SECTION("container-health") {
    Json t = env.run(load("container-health"));
    INFO(t.dump(2));
    REQUIRE(t["_exit"] == 0);
    REQUIRE(t["lastStatus"] == "RUNNING");
    std::string id = t["taskId"];
    t = env.wait_until(
        id, [](const Json& j) { return j["containers"][0]["healthStatus"] == "HEALTHY"; }, 30);
    REQUIRE(t["containers"][0]["healthStatus"] == "HEALTHY");
    CmdResult stop =
        env.ecsa({"task", "stop", "--root", env.root, "--timeout", "1", "--format", "json", id});
    REQUIRE(stop.code == 0);
    Json s = Json::parse(stop.out);
    REQUIRE(s["lastStatus"] == "STOPPED");
    REQUIRE(s["stopCode"] == "UserInitiated");
  }
}

TEST_CASE("task run: a bad task definition names its JSON path and leaves nothing",
          "[integration][ecs][task]") {
  NEED_REGISTRY();
  TaskEnv env;
  std::string path = env.write("bad", R"({"family":"bad","containerDefinitions":[{"name":"a",
      "image":"127.0.0.1:51670/busybox:latest","memory":32,"portMappings":[{"containerPort":80,"hostPort":"abc"}]}]})");
  CmdResult r = env.ecsa({"task", "run", "--root", env.root, path});
  REQUIRE(r.code == 1);
  REQUIRE(
      r.err.find(
          "containerDefinitions[0].portMappings[0].hostPort: expected an integer, got \"abc\"") !=
      std::string::npos);
  REQUIRE(split_lines(env.ecsa({"task", "ls", "-q"}).out).empty());

  std::string missing = env.write("missing", R"({"family":"m","containerDefinitions":[{"name":"a",
      "image":"127.0.0.1:51670/nope:1","memory":32}]})");
  Json t = env.run(missing);
  REQUIRE(t["_exit"] == 1);
  REQUIRE(t["lastStatus"] == "STOPPED");
  REQUIRE(t["stoppedReason"].get<std::string>().rfind("CannotPullContainerError: ", 0) == 0);
  REQUIRE(container(t, "a")["reason"].get<std::string>().rfind("CannotPullContainerError: ", 0) ==
          0);
}

TEST_CASE(
    "task run: essential exit stops the others in reverse dependency order within stopTimeout",
    "[integration][ecs][task]") {
  NEED_REGISTRY();
  TaskEnv env;
  // "main" exits 5 once "sidecar" runs; "sidecar" ignores SIGTERM, so its stopTimeout (2 s)
  // decides; "polite" exits 3 on SIGTERM. "helper" (non-essential) exits at once without
  // stopping anything.
  std::string path = env.write("essential", R"({"family":"essential","containerDefinitions":[
    {"name":"sidecar","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,"stopTimeout":2,
     "command":["sh","-c","trap '' TERM; while true; do sleep 1; done"]},
    {"name":"polite","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,
     "command":["sh","-c","trap 'exit 3' TERM; while true; do sleep 1; done"]},
    {"name":"helper","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,
     "command":["sh","-c","echo helper done; exit 0"]},
    {"name":"main","image":"127.0.0.1:51670/busybox:latest","memory":32,
     "dependsOn":[{"containerName":"sidecar","condition":"START"},{"containerName":"polite","condition":"START"},
                  {"containerName":"helper","condition":"COMPLETE"}],
     "command":["sh","-c","sleep 1; echo out; echo err >&2; exit 5"]}]})");
  auto t0 = std::chrono::steady_clock::now();
  Json t = env.run(path, {"--wait"});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(t.dump(2));
  REQUIRE(t["_exit"] == 5);
  REQUIRE(t["stoppedReason"] == "Essential container in task exited");
  REQUIRE(t["stopCode"] == "EssentialContainerExited");
  REQUIRE(container(t, "main")["exitCode"] == 5);
  REQUIRE(container(t, "helper")["exitCode"] == 0);
  REQUIRE(container(t, "polite")["exitCode"] == 3);
  REQUIRE(container(t, "sidecar")["exitCode"] == 137);
  REQUIRE(secs >= 2.0);  // the stop timeout was waited for, not skipped
  // Logs: Docker json-file lines, stdout and stderr apart.
  std::string id = t["taskId"];
  std::string file = ecsa::fs::read_file(env.state + "/tasks/" + id + "/logs/main-json.log");
  auto entries = split_lines(file);
  REQUIRE(entries.size() == 2);
  Json first = Json::parse(entries[0]), second = Json::parse(entries[1]);
  REQUIRE(first["log"] == "out\n");
  REQUIRE(first["stream"] == "stdout");
  REQUIRE(second["log"] == "err\n");
  REQUIRE(second["stream"] == "stderr");
  REQUIRE(first["time"].get<std::string>().back() == 'Z');
  CmdResult logs = env.ecsa({"task", "logs", id, "main"});
  REQUIRE(logs.out == "out\n");
  REQUIRE(logs.err == "err\n");
  // Every container, prefixed; -f ends with a stopped task.
  CmdResult all = env.ecsa({"task", "logs", "-f", id});
  REQUIRE(all.code == 0);
  REQUIRE(all.out.find("helper | helper done\n") != std::string::npos);
  REQUIRE(all.out.find("main | out\n") != std::string::npos);
  // Every container's runtime state, cgroup and rootfs are gone; the logs stay until rm.
  REQUIRE((!ecsa::fs::exists(env.root) || ecsa::fs::list_dir(env.root).empty()));
  REQUIRE(!ecsa::fs::exists("/sys/fs/cgroup/memory/ecsa/" + id));
  REQUIRE(env.ecsa({"task", "rm", id}).code == 0);
  REQUIRE(!ecsa::fs::exists(env.state + "/tasks/" + id));
}

TEST_CASE("task run: dynamic host ports serve HTTP, links and volumes reach the containers",
          "[integration][ecs][task][net]") {
  NEED_REGISTRY();
  TaskEnv env;
  ecsa::test::TempDir host_dir("ecsa-task-host");
  ecsa::fs::write_file_atomic(host_dir.path() + "/index.html", "from the host\n");
  std::string path = env.write("web", R"({"family":"web","containerDefinitions":[
    {"name":"web","image":"127.0.0.1:51670/busybox:latest","memory":32,
     "portMappings":[{"containerPort":80,"hostPort":0,"protocol":"tcp"}],
     "mountPoints":[{"sourceVolume":"site","containerPath":"/www","readOnly":true},
                    {"sourceVolume":"scratch","containerPath":"/scratch"}],
     "command":["httpd","-f","-p","80","-h","/www"]},
    {"name":"client","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,
     "links":["web:frontend"],
     "volumesFrom":[{"sourceContainer":"web"}],
     "dependsOn":[{"containerName":"web","condition":"START"}],
     "command":["sh","-c","grep -w frontend /etc/hosts; cat /www/index.html; echo written > /scratch/f; touch /www/x 2>/dev/null || echo read-only; sleep 30"]}],
    "volumes":[{"name":"site","host":{"sourcePath":")" +
                                          host_dir.path() + R"("}},{"name":"scratch"}]})");
  Json t = env.run(path);
  INFO(t.dump(2));
  REQUIRE(t["lastStatus"] == "RUNNING");
  const Json& b = container(t, "web")["networkBindings"];
  REQUIRE(b.size() == 1);
  REQUIRE(b[0]["containerPort"] == 80);
  REQUIRE(b[0]["protocol"] == "tcp");
  int port = b[0]["hostPort"];
  REQUIRE(port > 0);
  std::string body;
  for (int i = 0; i < 50 && body.empty(); ++i) {
    body = ecsa::test::http_get_local(port, "/index.html");
    if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(body == "from the host\n");
  std::string id = t["taskId"];
  std::string out;
  for (int i = 0; i < 50; ++i) {
    out = env.logs(id, "client");
    if (out.find("read-only") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  INFO(out);
  REQUIRE(out.find("frontend") != std::string::npos);       // the link alias in /etc/hosts
  REQUIRE(out.find("from the host") != std::string::npos);  // volumesFrom
  REQUIRE(out.find("read-only") != std::string::npos);      // readOnly carried over
  std::string vol = env.state + "/tasks/" + id + "/volumes/scratch/f";
  REQUIRE(ecsa::fs::read_file(vol) == "written\n");
  Json s = Json::parse(
      env.ecsa({"task", "stop", "--root", env.root, "--timeout", "1", "--format", "json", id}).out);
  REQUIRE(s["lastStatus"] == "STOPPED");
  REQUIRE(!ecsa::fs::exists(vol));  // the task-scoped volume went with the task
  REQUIRE(ecsa::fs::exists(host_dir.path() + "/index.html"));  // a host path stays
  REQUIRE(ecsa::test::http_get_local(port, "/index.html", 300).empty());
}

TEST_CASE("task run: user, read-only root, capabilities, ulimits, tmpfs, shm, init, hosts, DNS",
          "[integration][ecs][task]") {
  NEED_REGISTRY();
  TaskEnv env;
  std::string path = env.write("facts", R"({"family":"facts","containerDefinitions":[
    {"name":"facts","image":"127.0.0.1:51670/busybox:latest","memory":32,"user":"nobody",
     "readonlyRootFilesystem":true,"hostname":"factbox",
     "ulimits":[{"name":"nofile","softLimit":1000,"hardLimit":2000}],
     "extraHosts":[{"hostname":"plc.local","ipAddress":"10.1.2.3"}],
     "dnsServers":["10.0.0.53"],"dnsSearchDomains":["factory.example"],
     "dockerLabels":{"line":"7"},
     "linuxParameters":{"capabilities":{"add":["NET_ADMIN"],"drop":["CHOWN"]},"initProcessEnabled":true,
                        "sharedMemorySize":16,"tmpfs":[{"containerPath":"/fast","size":8,"mountOptions":["noexec","mode=1777"]}],
                        "devices":[{"hostPath":"/dev/zero","containerPath":"/dev/plc0","permissions":["read"]}]},
     "command":["sh","-c","echo uid=$(id -u); touch /x 2>/dev/null || echo rootfs-ro; grep CapEff /proc/self/status; echo nofile=$(ulimit -n); grep ' /fast ' /proc/mounts; grep ' /dev/shm ' /proc/mounts; echo pid1=$(cat /proc/1/comm) mypid=$$; grep plc.local /etc/hosts; cat /etc/resolv.conf; hostname; test -c /dev/plc0 && head -c 4 /dev/plc0 | od -An -tx1 && echo dev-ok; exit 9"]}]})");
  Json t = env.run(path, {"--wait"});
  INFO(t.dump(2));
  REQUIRE(t["_exit"] == 9);
  std::string out = env.logs(t["taskId"], "facts");
  INFO(out);
  REQUIRE(out.find("uid=65534") != std::string::npos);
  REQUIRE(out.find("rootfs-ro") != std::string::npos);
  // Docker's default set with NET_ADMIN (bit 12) added and CHOWN (bit 0) dropped: a
  // non-root user keeps no effective capability.
  REQUIRE(out.find("CapEff:\t0000000000000000") != std::string::npos);
  REQUIRE(out.find("nofile=1000") != std::string::npos);
  REQUIRE(out.find("/fast tmpfs rw,nosuid,nodev,noexec") != std::string::npos);
  REQUIRE(out.find("size=8192k") != std::string::npos);
  REQUIRE(out.find("size=16384k") != std::string::npos);
  REQUIRE(out.find("mypid=1") == std::string::npos);  // PID 1 is the init, not the shell
  REQUIRE(out.find("10.1.2.3") != std::string::npos);
  REQUIRE(out.find("nameserver 10.0.0.53") != std::string::npos);
  REQUIRE(out.find("search factory.example") != std::string::npos);
  REQUIRE(out.find("factbox") != std::string::npos);
  REQUIRE(out.find("00 00 00 00") != std::string::npos);  // the device, readable
  REQUIRE(out.find("dev-ok") != std::string::npos);

  // As root, the capability set is Docker's default + NET_ADMIN - CHOWN.
  std::string caps = env.write("caps", R"({"family":"caps","containerDefinitions":[
    {"name":"c","image":"127.0.0.1:51670/busybox:latest","memory":32,
     "linuxParameters":{"capabilities":{"add":["NET_ADMIN"],"drop":["CHOWN"]}},
     "command":["sh","-c","grep CapEff /proc/self/status"]}]})");
  Json c = env.run(caps, {"--wait"});
  std::string capout = env.logs(c["taskId"], "c");
  INFO(capout);
  // Docker's default: 0x00000000a80425fb; +NET_ADMIN (0x1000) -CHOWN (0x1).
  REQUIRE(capout.find("CapEff:\t00000000a80435fa") != std::string::npos);
}

TEST_CASE(
    "task run: dependsOn SUCCESS not met, HEALTHY met, unhealthy checks, OOM in the task cgroup",
    "[integration][ecs][task]") {
  NEED_REGISTRY();
  TaskEnv env;
  SECTION("SUCCESS not met stops the task") {
    std::string path = env.write("succ", R"({"family":"succ","containerDefinitions":[
      {"name":"init","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,"command":["sh","-c","exit 4"]},
      {"name":"app","image":"127.0.0.1:51670/busybox:latest","memory":32,
       "dependsOn":[{"containerName":"init","condition":"SUCCESS"}],"command":["true"]}]})");
    Json t = env.run(path, {"--wait"});
    INFO(t.dump(2));
    REQUIRE(t["lastStatus"] == "STOPPED");
    REQUIRE(container(t, "init")["exitCode"] == 4);
    REQUIRE(!container(t, "app").contains("exitCode"));
    REQUIRE(container(t, "app")["reason"].get<std::string>().find(
                "DependencyConditionNotSatisfied") == 0);
    REQUIRE(t["stopCode"] == "TaskFailedToStart");
  }
  SECTION("HEALTHY gates the start; UNHEALTHY is reported") {
    std::string path = env.write("health", R"({"family":"health","containerDefinitions":[
      {"name":"db","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,
       "healthCheck":{"command":["CMD-SHELL","test -f /tmp/ready"],"interval":5,"timeout":2,"retries":1},
       "command":["sh","-c","touch /tmp/ready; sleep 60"]},
      {"name":"sick","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,
       "healthCheck":{"command":["CMD","false"],"interval":5,"timeout":2,"retries":1},
       "command":["sleep","60"]},
      {"name":"app","image":"127.0.0.1:51670/busybox:latest","memory":32,
       "dependsOn":[{"containerName":"db","condition":"HEALTHY"}],"command":["sleep","60"]}]})");
    Json t = env.run(path);
    INFO(t.dump(2));
    REQUIRE(t["lastStatus"] == "RUNNING");
    REQUIRE(container(t, "db")["healthStatus"] == "HEALTHY");
    REQUIRE(container(t, "app")["lastStatus"] == "RUNNING");
    std::string id = t["taskId"];
    t = env.wait_until(
        id, [](const Json& j) { return container(j, "sick")["healthStatus"] == "UNHEALTHY"; }, 20);
    REQUIRE(container(t, "sick")["healthStatus"] == "UNHEALTHY");
    REQUIRE(t["lastStatus"] == "RUNNING");  // ECS does not stop a task for an unhealthy container
  }
  SECTION("OOM in the task cgroup") {
    if (!ecsa::fs::exists("/sys/fs/cgroup/memory")) return;
    std::string path =
        env.write("oomtask", R"({"family":"oomtask","memory":"64","containerDefinitions":[
      {"name":"hog","image":"127.0.0.1:51670/amazon/amazon-ecs-stress:make","memoryReservation":16,
       "command":["-memory","200"]}]})");
    Json t = env.run(path, {"--wait"});
    INFO(t.dump(2));
    REQUIRE(container(t, "hog")["reason"] ==
            "OutOfMemoryError: Container killed due to memory usage");
    REQUIRE(container(t, "hog")["exitCode"] == 137);
  }
}

TEST_CASE("task run: a killed supervisor orphans nothing: gc stops the task's containers",
          "[integration][ecs][task]") {
  NEED_REGISTRY();
  TaskEnv env;
  std::string path = env.write("orphan", R"({"family":"orphan","containerDefinitions":[
    {"name":"a","image":"127.0.0.1:51670/busybox:latest","memory":32,
     "portMappings":[{"containerPort":80,"hostPort":0}],"command":["sleep","300"]}]})");
  Json t = env.run(path);
  REQUIRE(t["lastStatus"] == "RUNNING");
  std::string id = t["taskId"];
  int sup = t["supervisor"]["pid"];
  int pid = container(t, "a")["pid"];
  REQUIRE(::kill(sup, SIGKILL) == 0);
  for (int i = 0; i < 50 && ::kill(sup, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CmdResult ls = env.ecsa({"task", "ls"});
  REQUIRE(ls.out.find("RUNNING?") != std::string::npos);  // the record says the supervisor is gone
  CmdResult gc = env.ecsa({"gc", "--root", env.root});
  INFO(gc.err);
  REQUIRE(gc.code == 0);
  REQUIRE(gc.out.find(id) != std::string::npos);
  Json d = env.describe(id);
  REQUIRE(d["lastStatus"] == "STOPPED");
  REQUIRE(container(d, "a")["lastStatus"] == "STOPPED");
  for (int i = 0; i < 50 && ::kill(pid, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(::kill(pid, 0) != 0);  // the container's process is gone
  REQUIRE((!ecsa::fs::exists(env.root) || ecsa::fs::list_dir(env.root).empty()));
  REQUIRE((!ecsa::fs::exists(env.state + "/net") ||
           env.ecsa({"net", "ls"}).out.find(id) == std::string::npos));
}

TEST_CASE("task run: restartPolicy restarts a container that ran long enough",
          "[integration][ecs][task][slow]") {
  NEED_REGISTRY();
  TaskEnv env;
  // restartAttemptPeriod is at least 60 s (ECS's minimum): the container must have run that
  // long for a restart; a quick exit with an ignored code is final.
  std::string path = env.write("restart", R"({"family":"restart","containerDefinitions":[
    {"name":"flaky","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":true,
     "restartPolicy":{"enabled":true,"restartAttemptPeriod":60,"ignoredExitCodes":[0]},
     "command":["sh","-c","if [ -f /tmp/again ]; then echo restarted with its files; exit 0; fi; touch /tmp/again; sleep 61; exit 1"]}]})");
  // The same container restarts: its filesystem (/tmp/again) survives; the second run exits
  // 0, an ignored code, which ends the task.
  Json t = env.run(path, {"--wait"});
  INFO(t.dump(2));
  REQUIRE(container(t, "flaky")["restartCount"] == 1);
  REQUIRE(container(t, "flaky")["exitCode"] == 0);
  REQUIRE(t["_exit"] == 0);
  REQUIRE(env.logs(t["taskId"], "flaky") == "restarted with its files\n");
  REQUIRE(ecsa::fs::list_dir(env.state + "/launched").empty());
}

TEST_CASE("task run: pidMode task shares one PID namespace between the task's containers",
          "[integration][ecs][task]") {
  NEED_REGISTRY();
  TaskEnv env;
  std::string path = env.write(
      "pids", R"({"family":"pids","pidMode":"task","ipcMode":"task","containerDefinitions":[
    {"name":"first","image":"127.0.0.1:51670/busybox:latest","memory":32,"essential":false,"stopTimeout":1,
     "command":["sleep","30"]},
    {"name":"second","image":"127.0.0.1:51670/busybox:latest","memory":32,
     "dependsOn":[{"containerName":"first","condition":"START"}],
     "command":["sh","-c","ps -o comm | grep -q '^sleep' && exit 7 || exit 1"]}]})");
  Json t = env.run(path, {"--wait"});
  INFO(t.dump(2));
  REQUIRE(container(t, "second")["exitCode"] == 7);
}

TEST_CASE("task stop sends the image's StopSignal first", "[integration][ecs][task]") {
  NEED_REGISTRY();
  TaskEnv env;
  // ecs-stress's image says StopSignal SIGUSR1; with the init as PID 1 the signal reaches the
  // program, which dies of it: 128 + SIGUSR1 instead of 143 (SIGTERM) or 137 (timeout).
  std::string path = env.write("stopsig", R"({"family":"stopsig","containerDefinitions":[
    {"name":"s","image":"127.0.0.1:51670/amazon/amazon-ecs-stress:make","memory":64,"stopTimeout":20,
     "linuxParameters":{"initProcessEnabled":true},"command":["-concurrency","0","-memory","1"]}]})");
  Json t = env.run(path);
  INFO(t.dump(2));
  REQUIRE(t["lastStatus"] == "RUNNING");
  CmdResult stop = env.ecsa({"task", "stop", "--root", env.root, "--format", "json", t["taskId"]});
  Json s = Json::parse(stop.out);
  INFO(s.dump(2));
  REQUIRE(container(s, "s")["exitCode"] == 128 + SIGUSR1);
}
