#include "oci/runtime_spec.hpp"

#include <sys/mount.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace ecsa::oci {

using json::Node;

namespace {

uint32_t u32(const Node& n) {
  uint64_t v = n.u64();
  if (v > UINT32_MAX) n.fail("expected a 32-bit unsigned integer, got " + std::to_string(v));
  return static_cast<uint32_t>(v);
}

User parse_user(const Node& n) {
  User u;
  if (auto v = n.opt("uid")) u.uid = u32(*v);
  if (auto v = n.opt("gid")) u.gid = u32(*v);
  if (auto v = n.opt("umask")) u.umask = u32(*v);
  if (auto v = n.opt("additionalGids"))
    for (const auto& g : v->items()) u.additional_gids.push_back(u32(g));
  if (auto v = n.opt("username")) v->str();  // Windows only; accepted and ignored
  return u;
}

Process parse_process(const Node& n) {
  Process p;
  p.terminal = n.bool_or("terminal", false);
  if (auto cs = n.opt("consoleSize")) {
    p.console_height = u32(cs->at("height"));
    p.console_width = u32(cs->at("width"));
  }
  if (auto u = n.opt("user")) p.user = parse_user(*u);
  if (auto a = n.opt("args")) p.args = a->strings();
  if (auto cl = n.opt("commandLine")) cl->str();  // Windows only
  if (auto e = n.opt("env")) p.env = e->strings();
  p.cwd = n.at("cwd").str();
  if (p.cwd.empty() || p.cwd[0] != '/') n.at("cwd").fail("must be an absolute path, got \"" + p.cwd + "\"");
  p.no_new_privileges = n.bool_or("noNewPrivileges", false);
  if (auto o = n.opt("oomScoreAdj")) p.oom_score_adj = static_cast<int>(o->int_in(-1000, 1000));
  p.apparmor_profile = n.str_or("apparmorProfile", "");
  p.selinux_label = n.str_or("selinuxLabel", "");
  if (auto c = n.opt("capabilities")) {
    c->members();  // must be an object
    p.capabilities = c->raw();
  }
  if (auto r = n.opt("rlimits")) {
    r->items();  // must be an array
    p.rlimits = r->raw();
  }
  return p;
}

std::optional<int64_t> opt_i64(const Node& n, const char* key) {
  auto v = n.opt(key);
  return v ? std::optional<int64_t>(v->i64()) : std::nullopt;
}
std::optional<uint64_t> opt_u64(const Node& n, const char* key) {
  auto v = n.opt(key);
  return v ? std::optional<uint64_t>(v->u64()) : std::nullopt;
}

cgroups::Resources parse_resources(const Node& n) {
  cgroups::Resources r;
  if (auto c = n.opt("cpu")) {
    r.cpu.shares = opt_u64(*c, "shares");
    r.cpu.quota = opt_i64(*c, "quota");
    r.cpu.period = opt_u64(*c, "period");
    r.cpu.realtime_runtime = opt_i64(*c, "realtimeRuntime");
    r.cpu.realtime_period = opt_u64(*c, "realtimePeriod");
    if (auto v = c->opt("cpus")) r.cpu.cpus = v->str();
    if (auto v = c->opt("mems")) r.cpu.mems = v->str();
  }
  if (auto m = n.opt("memory")) {
    r.memory.limit = opt_i64(*m, "limit");
    r.memory.reservation = opt_i64(*m, "reservation");
    r.memory.swap = opt_i64(*m, "swap");
    if (auto v = m->opt("swappiness")) r.memory.swappiness = static_cast<uint64_t>(v->int_in(0, 100));
    if (auto v = m->opt("disableOOMKiller")) r.memory.disable_oom_killer = v->boolean();
    if (auto v = m->opt("useHierarchy")) r.memory.use_hierarchy = v->boolean();
    if (m->opt("kernel") || m->opt("kernelTCP"))
      log::debug("linux.resources.memory.kernel/kernelTCP are deprecated and ignored");
  }
  if (auto p = n.opt("pids")) r.pids.limit = p->at("limit").i64();
  if (auto d = n.opt("devices")) {
    for (const auto& e : d->items()) {
      cgroups::DeviceRule rule;
      rule.allow = e.at("allow").boolean();
      std::string type = e.str_or("type", "a");
      if (type != "a" && type != "b" && type != "c")
        e.at("type").fail("expected \"a\", \"b\" or \"c\", got \"" + type + "\"");
      rule.type = type[0];
      rule.major = opt_i64(e, "major");
      rule.minor = opt_i64(e, "minor");
      rule.access = e.str_or("access", "rwm");
      for (char ch : rule.access)
        if (ch != 'r' && ch != 'w' && ch != 'm')
          e.at("access").fail("expected letters of \"rwm\", got \"" + rule.access + "\"");
      r.devices.push_back(rule);
    }
  }
  if (auto u = n.opt("unified")) r.unified = u->string_map();
  for (const char* k : {"blockIO", "hugepageLimits", "network", "rdma"})
    if (n.opt(k)) log::debug(std::string("linux.resources.") + k + " is not applied by ecsa");
  return r;
}

std::vector<IdMapping> parse_id_mappings(const Node& n) {
  std::vector<IdMapping> out;
  for (const auto& e : n.items())
    out.push_back({u32(e.at("containerID")), u32(e.at("hostID")), u32(e.at("size"))});
  return out;
}

const char* const kNamespaceTypes[] = {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"};

Linux parse_linux(const Node& n) {
  Linux l;
  if (auto ns = n.opt("namespaces")) {
    for (const auto& e : ns->items()) {
      Namespace x{e.at("type").str(), e.str_or("path", "")};
      bool known = false;
      for (const char* t : kNamespaceTypes) known |= x.type == t;
      if (!known) e.at("type").fail("unknown namespace type \"" + x.type + "\"");
      if (l.has_namespace(x.type)) e.at("type").fail("namespace \"" + x.type + "\" given twice");
      if (!x.path.empty() && x.path[0] != '/') e.at("path").fail("must be an absolute path");
      l.namespaces.push_back(x);
    }
  }
  if (auto v = n.opt("uidMappings")) l.uid_mappings = parse_id_mappings(*v);
  if (auto v = n.opt("gidMappings")) l.gid_mappings = parse_id_mappings(*v);
  if (auto v = n.opt("devices")) {
    for (const auto& e : v->items()) {
      Device d;
      d.path = e.at("path").str();
      d.type = e.at("type").str();
      if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
        e.at("type").fail("expected one of c, b, u, p, got \"" + d.type + "\"");
      if (d.type != "p") {
        d.major = e.at("major").i64();
        d.minor = e.at("minor").i64();
      }
      if (auto m = e.opt("fileMode")) d.file_mode = u32(*m);
      if (auto m = e.opt("uid")) d.uid = u32(*m);
      if (auto m = e.opt("gid")) d.gid = u32(*m);
      l.devices.push_back(d);
    }
  }
  l.cgroups_path = n.str_or("cgroupsPath", "");
  if (auto r = n.opt("resources")) {
    l.resources = parse_resources(*r);
    l.has_resources = true;
  }
  l.rootfs_propagation = n.str_or("rootfsPropagation", "");
  if (!l.rootfs_propagation.empty()) {
    static const char* const ok[] = {"private", "rprivate", "slave", "rslave", "shared", "rshared",
                                     "unbindable", "runbindable"};
    bool found = false;
    for (const char* o : ok) found |= l.rootfs_propagation == o;
    if (!found) n.at("rootfsPropagation").fail("unknown propagation \"" + l.rootfs_propagation + "\"");
  }
  if (auto v = n.opt("maskedPaths")) l.masked_paths = v->strings();
  if (auto v = n.opt("readonlyPaths")) l.readonly_paths = v->strings();
  if (auto v = n.opt("sysctl")) l.sysctl = v->string_map();
  l.mount_label = n.str_or("mountLabel", "");
  if (auto v = n.opt("seccomp")) {
    v->members();
    l.seccomp = v->raw();
  }
  return l;
}

std::vector<Hook> parse_hook_list(const Node& n) {
  std::vector<Hook> out;
  for (const auto& e : n.items()) {
    Hook h;
    h.path = e.at("path").str();
    if (h.path.empty() || h.path[0] != '/') e.at("path").fail("must be an absolute path");
    if (auto a = e.opt("args")) h.args = a->strings();
    if (auto v = e.opt("env")) h.env = v->strings();
    if (auto t = e.opt("timeout")) {
      int64_t s = t->i64();
      if (s <= 0) t->fail("must be greater than zero");
      h.timeout = static_cast<int>(s);
    }
    out.push_back(h);
  }
  return out;
}

}  // namespace

bool Linux::has_namespace(const std::string& type) const { return find_namespace(type) != nullptr; }

const Namespace* Linux::find_namespace(const std::string& type) const {
  for (const auto& n : namespaces)
    if (n.type == type) return &n;
  return nullptr;
}

Spec parse_spec(const json::Json& doc, const std::string& bundle) {
  Node root(doc, "");
  Spec s;
  s.oci_version = root.at("ociVersion").str();
  if (s.oci_version.rfind("1.", 0) != 0)
    root.at("ociVersion").fail("unsupported version \"" + s.oci_version + "\" (ecsa supports 1.x)");
  auto r = root.at("root");
  s.root_path = r.at("path").str();
  if (s.root_path.empty()) r.at("path").fail("must not be empty");
  if (s.root_path[0] != '/') s.root_path = fs::join(bundle, s.root_path);
  s.root_readonly = r.bool_or("readonly", false);
  if (auto p = root.opt("process")) s.process = parse_process(*p);
  s.hostname = root.str_or("hostname", "");
  s.domainname = root.str_or("domainname", "");
  if (auto m = root.opt("mounts")) {
    for (const auto& e : m->items()) {
      Mount mt;
      mt.destination = e.at("destination").str();
      if (mt.destination.empty() || mt.destination[0] != '/')
        e.at("destination").fail("must be an absolute path, got \"" + mt.destination + "\"");
      mt.type = e.str_or("type", "");
      mt.source = e.str_or("source", "");
      if (auto o = e.opt("options")) mt.options = o->strings();
      if (e.opt("uidMappings") || e.opt("gidMappings"))
        e.fail("idmapped mounts are not supported by ecsa");
      s.mounts.push_back(mt);
    }
  }
  if (auto h = root.opt("hooks")) {
    if (auto v = h->opt("prestart")) s.hooks.prestart = parse_hook_list(*v);
    if (auto v = h->opt("createRuntime")) s.hooks.create_runtime = parse_hook_list(*v);
    if (auto v = h->opt("createContainer")) s.hooks.create_container = parse_hook_list(*v);
    if (auto v = h->opt("startContainer")) s.hooks.start_container = parse_hook_list(*v);
    if (auto v = h->opt("poststart")) s.hooks.poststart = parse_hook_list(*v);
    if (auto v = h->opt("poststop")) s.hooks.poststop = parse_hook_list(*v);
  }
  if (auto a = root.opt("annotations")) s.annotations = a->string_map();
  if (auto l = root.opt("linux")) s.linux = parse_linux(*l);
  return s;
}

Spec load_spec(const std::string& bundle) {
  std::string path = fs::join(bundle, "config.json");
  std::string text;
  try {
    text = fs::read_file(path);
  } catch (const Error&) {
    rethrow_with_context("load bundle " + bundle);
  }
  auto doc = json::parse(text, path);
  try {
    return parse_spec(doc, bundle);
  } catch (const Error&) {
    rethrow_with_context(path);
  }
}

MountFlags parse_mount_options(const std::vector<std::string>& options) {
  struct Opt {
    const char* name;
    bool clear;
    unsigned long flag;
  };
  static const Opt table[] = {
      {"async", true, MS_SYNCHRONOUS}, {"atime", true, MS_NOATIME},   {"bind", false, MS_BIND},
      {"defaults", false, 0},          {"dev", true, MS_NODEV},       {"diratime", true, MS_NODIRATIME},
      {"dirsync", false, MS_DIRSYNC},  {"exec", true, MS_NOEXEC},     {"iversion", false, MS_I_VERSION},
      {"lazytime", false, MS_LAZYTIME}, {"loud", true, MS_SILENT},    {"mand", false, MS_MANDLOCK},
      {"noatime", false, MS_NOATIME},  {"nodev", false, MS_NODEV},    {"nodiratime", false, MS_NODIRATIME},
      {"noexec", false, MS_NOEXEC},    {"noiversion", true, MS_I_VERSION}, {"nolazytime", true, MS_LAZYTIME},
      {"nomand", true, MS_MANDLOCK},   {"norelatime", true, MS_RELATIME}, {"nostrictatime", true, MS_STRICTATIME},
      {"nosuid", false, MS_NOSUID},    {"rbind", false, MS_BIND | MS_REC}, {"relatime", false, MS_RELATIME},
      {"remount", false, MS_REMOUNT},  {"ro", false, MS_RDONLY},      {"rw", true, MS_RDONLY},
      {"silent", false, MS_SILENT},    {"strictatime", false, MS_STRICTATIME}, {"suid", true, MS_NOSUID},
      {"sync", false, MS_SYNCHRONOUS},
  };
  static const Opt propagation[] = {
      {"private", false, MS_PRIVATE},   {"rprivate", false, MS_PRIVATE | MS_REC},
      {"shared", false, MS_SHARED},     {"rshared", false, MS_SHARED | MS_REC},
      {"slave", false, MS_SLAVE},       {"rslave", false, MS_SLAVE | MS_REC},
      {"unbindable", false, MS_UNBINDABLE}, {"runbindable", false, MS_UNBINDABLE | MS_REC},
  };
  MountFlags out;
  for (const auto& o : options) {
    bool done = false;
    for (const auto& t : table) {
      if (o != t.name) continue;
      if (t.clear) {
        out.flags &= ~t.flag;
        out.clear |= t.flag;
      } else {
        out.flags |= t.flag;
        out.clear &= ~t.flag;
      }
      done = true;
      break;
    }
    if (!done) {
      for (const auto& t : propagation) {
        if (o != t.name) continue;
        out.propagation |= t.flag;
        done = true;
        break;
      }
    }
    if (!done) {
      // tmpcopyup and idmap are runc/crun extensions; everything else is filesystem data.
      if (o == "tmpcopyup" || o == "idmap" || o == "ridmap") {
        log::debug("mount option " + o + " is not supported; ignored");
        continue;
      }
      if (!out.data.empty()) out.data += ',';
      out.data += o;
    }
  }
  out.bind = (out.flags & MS_BIND) != 0;
  out.recursive = (out.flags & MS_REC) != 0;
  out.flags &= ~MS_REC;
  return out;
}

}  // namespace ecsa::oci
