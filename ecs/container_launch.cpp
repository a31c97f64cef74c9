#include "ecs/container_launch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "ecs/image_config_merge.hpp"
#include "oci/pull.hpp"
#include "oci/reference.hpp"
#include "oci/runtime_config_builder.hpp"
#include "runtime/container.hpp"
#include "runtime/rootfs_paths.hpp"

namespace ecsa::ecs {

namespace {

std::optional<std::vector<std::string>> opt_strings(const json::Json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<std::vector<std::string>>();
}

ImageConfig parse_image_config(const std::string& config_json) {
  auto doc = json::parse(config_json, "image config");
  ImageConfig ic;
  if (!doc.contains("config") || !doc["config"].is_object()) return ic;
  const auto& c = doc["config"];
  ic.entrypoint = opt_strings(c, "Entrypoint");
  ic.cmd = opt_strings(c, "Cmd");
  if (auto env = opt_strings(c, "Env")) ic.env = *env;
  ic.working_dir = c.value("WorkingDir", "");
  ic.user = c.value("User", "");
  ic.stop_signal = c.value("StopSignal", "");
  if (c.contains("Volumes") && c["Volumes"].is_object())
    for (auto it = c["Volumes"].begin(); it != c["Volumes"].end(); ++it)
      ic.volumes.push_back(it.key());
  return ic;
}

// A file of the image, read without following a symlink out of the rootfs.
std::string read_in_rootfs(const std::string& rootfs, const std::string& path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_errno("open rootfs " + rootfs);
  try {
    auto fd = runtime::open_in_root(root.get(), path, runtime::Create::none, rootfs);
    auto text = fs::read_file_if_exists(runtime::fd_path(fd.get()));
    return text ? *text : "";
  } catch (const Error&) {
    return "";  // no such file in the image
  }
}

net::NetworkConfig network_config(const ContainerPlan& c, NetworkMode mode,
                                  const std::string& hostname,
                                  const std::vector<std::string>& link_hosts) {
  net::NetworkConfig n;
  n.mode = mode == NetworkMode::bridge ? "bridge" : mode == NetworkMode::host ? "host" : "none";
  if (c.disable_networking) n.mode = "none";
  for (const auto& p : c.ports) {
    net::PortMapping m;
    m.container_port = p.container_port;
    m.container_port_end = p.is_range() ? p.container_port_end : 0;
    m.host_port = p.host_port.value_or(0);
    m.protocol = p.protocol;
    n.ports.push_back(m);
  }
  n.hostname = hostname;
  n.dns = c.dns_servers;
  n.dns_search = c.dns_search_domains;
  for (const auto& h : c.extra_hosts) n.extra_hosts.push_back(h.hostname + ":" + h.ip);
  for (const auto& h : link_hosts) n.extra_hosts.push_back(h);
  return n;
}

// Docker's default hostname: the first 12 characters of the container id. A task's
// container ids all start with the task id, so theirs are hashed (FNV-1a) to stay apart.
std::string default_hostname(const std::string& id, bool in_task) {
  if (!in_task) return id.substr(0, 12);
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 12);
}

}  // namespace

std::string container_files_dir(const oci::ImageStore& store, const std::string& id) {
  return fs::join(store.root(), "launched/" + id);
}

oci::ImageRecord ensure_image(oci::ImageStore& store, const std::string& ref,
                              ImagePullBehavior behavior, oci::Progress* progress) {
  // As ECS_IMAGE_PULL_BEHAVIOR: default pulls and falls back to a cached copy; always pulls;
  // once and prefer-cached use a cached copy when there is one.
  auto cached = store.find_image(ref);
  if (cached &&
      (behavior == ImagePullBehavior::once || behavior == ImagePullBehavior::prefer_cached))
    return *cached;
  oci::PullOptions po;
  po.reference = ref;
  po.progress = progress;
  try {
    return oci::pull_image(store, po);
  } catch (const std::exception& e) {
    if (cached && behavior == ImagePullBehavior::default_) {
      log::warn(std::string("pull failed, using the cached image: ") + e.what());
      return *cached;
    }
    throw Error(std::string("CannotPullContainerError: ") + e.what());
  }
}

Launched create_from_plan(oci::ImageStore& store, const oci::ImageRecord& image,
                          const ContainerPlan& plan, const LaunchOptions& opts) {
  std::string files = container_files_dir(store, opts.id);
  Launched out;
  out.bundle = files + "/bundle";
  std::string etc = files + "/etc";
  std::string rootfs;
  try {
    rootfs =
        opts.existing_rootfs.empty() ? store.prepare_rootfs(opts.id, image) : opts.existing_rootfs;
    ImageConfig ic = parse_image_config(image.config_json);
    ProcessPlan proc = merge_image_config(plan, ic, read_in_rootfs(rootfs, "/etc/passwd"),
                                          read_in_rootfs(rootfs, "/etc/group"));
    // workingDirectory is created if missing, as Docker does.
    if (!proc.cwd.empty() && proc.cwd != "/") {
      UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!root) throw_errno("open rootfs " + rootfs);
      runtime::open_in_root(root.get(), proc.cwd, runtime::Create::dir, rootfs);
    }
    std::string hostname =
        !plan.hostname.empty() ? plan.hostname : default_hostname(opts.id, !opts.task_id.empty());

    oci::ContainerConfig cc;
    cc.args = proc.args;
    cc.env = proc.env;
    cc.env.push_back("HOSTNAME=" + hostname);
    cc.cwd = proc.cwd;
    cc.uid = proc.ids.uid;
    cc.gid = proc.ids.gid;
    cc.additional_gids = proc.ids.additional_gids;
    cc.hostname = hostname;
    cc.terminal = false;
    cc.read_only_root = plan.readonly_rootfs;
    cc.privileged = plan.privileged;
    cc.no_new_privileges = plan.no_new_privileges;
    cc.capabilities = plan.capabilities;  // Docker's rules, applied when the plan was made
    cc.memory_limit = plan.memory_bytes.value_or(0);
    cc.memory_reservation = plan.memory_reservation_bytes.value_or(0);
    cc.memory_swap = plan.memory_swap_bytes.value_or(0);
    cc.cpu_shares = plan.cpu_shares;
    cc.cpu_quota = opts.cpu_quota_us;
    cc.shm_size = plan.shm_size_bytes.value_or(0);
    for (const auto& t : plan.tmpfs) {
      // Docker's --tmpfs defaults (noexec, nosuid, nodev) unless the options say otherwise.
      std::vector<std::string> o;
      auto has = [&](const char* a, const char* b) {
        return std::find(t.options.begin(), t.options.end(), a) != t.options.end() ||
               std::find(t.options.begin(), t.options.end(), b) != t.options.end();
      };
      if (!has("exec", "noexec")) o.push_back("noexec");
      if (!has("suid", "nosuid")) o.push_back("nosuid");
      if (!has("dev", "nodev")) o.push_back("nodev");
      o.insert(o.end(), t.options.begin(), t.options.end());
      if (t.size_bytes > 0) o.push_back("size=" + std::to_string(t.size_bytes));
      cc.mounts.push_back({t.container_path, "tmpfs", "tmpfs", o});
    }
    for (const auto& m : plan.mounts) {
      auto src = opts.volume_sources.find(m.volume);
      if (src == opts.volume_sources.end())
        throw Error(plan.name + ": mountPoints: volume \"" + m.volume + "\" has no host directory");
      cc.mounts.push_back(
          {m.destination, "bind", src->second, {"rbind", "rprivate", m.read_only ? "ro" : "rw"}});
    }
    for (const auto& d : plan.devices)
      cc.devices.push_back({d.host_path, d.container_path, d.permissions});
    for (const auto& u : plan.ulimits)
      cc.rlimits.push_back({{"type", u.rlimit}, {"soft", u.soft}, {"hard", u.hard}});
    cc.sysctl = plan.sysctls;
    cc.annotations = plan.labels;
    cc.annotations[kImageAnnotation] = plan.image;
    cc.annotations[kNameAnnotation] = plan.name;
    if (!opts.task_id.empty()) cc.annotations[kTaskAnnotation] = opts.task_id;
    if (plan.init_process) cc.annotations[kInitAnnotation] = "true";
    cc.annotations[kStopSignalAnnotation] = proc.stop_signal;
    cc.pid_ns = opts.pid_ns;
    cc.ipc_ns = opts.ipc_ns;
    cc.cgroups_path = opts.cgroup_path;
    if (opts.network_mode == NetworkMode::host) cc.network_ns = "host";
    std::string etc_from = etc;  // where /etc/hosts and /etc/resolv.conf come from
    if (!opts.network_container.empty()) {
      const std::string& other = opts.network_container;
      runtime::StateDir sd(opts.runtime_root, other);
      if (!sd.exists()) throw Error("network container:" + other + ": no such container");
      runtime::ContainerState os = sd.load();
      if (runtime::current_status(sd, os) != runtime::Status::running)
        throw Error("network container:" + other + ": the container is not running");
      cc.network_ns = "/proc/" + std::to_string(os.pid) + "/ns/net";
      etc_from = container_files_dir(store, other) + "/etc";
    }
    for (const char* f : {"hosts", "resolv.conf"})
      cc.mounts.push_back(
          {std::string("/etc/") + f, "bind", etc_from + "/" + f, {"rbind", "rprivate"}});
    cc.mounts.push_back({"/etc/hostname", "bind", etc + "/hostname", {"rbind", "rprivate"}});

    fs::mkdir_p(out.bundle, 0700);
    fs::mkdir_p(etc, 0755);
    // Bind-mount sources must exist before the init mounts them; network setup fills them.
    for (const char* f : {"hosts", "resolv.conf", "hostname"})
      fs::write_file_atomic(etc + "/" + f, "", 0644);
    fs::write_file_atomic(out.bundle + "/config.json",
                          oci::build_runtime_config(cc, rootfs).dump(2), 0600);

    net::NetworkConfig ncfg = network_config(plan, opts.network_mode, hostname, opts.link_hosts);
    runtime::CreateOptions co;
    co.root = opts.runtime_root;
    co.id = opts.id;
    co.bundle = out.bundle;
    for (int i = 0; i < 3; ++i) co.stdio[i] = opts.stdio[i];
    co.on_namespaces_ready = [&](pid_t pid, runtime::ContainerState& st) {
      if (!opts.network_container.empty()) {
        fs::write_file_atomic(etc + "/hostname", hostname + "\n", 0644, false);
        st.extra["networkMode"] = "container:" + opts.network_container;
        return;
      }
      out.network = net::setup_network(opts.id, pid, ncfg);
      net::write_etc_files(etc, ncfg, out.network, plan.name);
      json::Json b = json::Json::array();
      for (const auto& nb : out.network.bindings) b.push_back(nb.to_json());
      st.extra["networkBindings"] = b;
      if (!out.network.ip.empty()) st.extra["ipAddress"] = out.network.ip;
    };
    co.on_create_failed = [&](const runtime::ContainerState&) { net::teardown_network(opts.id); };
    out.pid = runtime::create_container(co);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    try {
      net::teardown_network(opts.id);
      if (!rootfs.empty()) store.release_rootfs(opts.id);
      fs::remove_all(files);
    } catch (const std::exception& e2) {
      log::warn(std::string("cleanup: ") + e2.what());
    }
    throw Error(msg);
  }
  return out;
}

void remove_launched(oci::ImageStore& store, const std::string& runtime_root,
                     const std::string& id) {
  std::string first_error;
  auto attempt = [&](const char* what, const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      if (first_error.empty()) first_error = std::string(what) + ": " + e.what();
    }
  };
  attempt("delete", [&] { runtime::delete_container(runtime_root, id, true); });
  attempt("network", [&] { net::teardown_network(id); });
  attempt("rootfs", [&] { store.release_rootfs(id); });
  attempt("files", [&] { fs::remove_all(container_files_dir(store, id)); });
  if (!first_error.empty()) throw Error("remove " + id + ": " + first_error);
}

}  // namespace ecsa::ecs
