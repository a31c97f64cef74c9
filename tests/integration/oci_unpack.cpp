// Unpacking real layers as root: every file type and attribute, whiteouts and opaque dirs
// in overlay form, the overlay rootfs, the flattened fallback, and `umoci unpack` as the
// reference result.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/digest.hpp"
#include "oci/store_impl.hpp"
#include "tests/unit/oci_unpack_tar.hpp"

using namespace ecsa;
using namespace ecsa::testing;
using oci::Compression;

namespace {

TarEntry owned(TarEntry e, int64_t uid, int64_t gid) {
  e.uid = uid;
  e.gid = gid;
  return e;
}

TarEntry with_xattr(TarEntry e, const std::string& k, const std::string& v) {
  e.xattrs.emplace_back(k, v);
  return e;
}

TarEntry blockdev(const std::string& name, unsigned ma, unsigned mi) {
  TarEntry e = tar_chardev(name, ma, mi);
  e.type = 0060000;  // AE_IFBLK
  e.perm = 0660;
  return e;
}

// cap_net_raw+ep as a VFS_CAP_REVISION_2 security.capability value.
std::string cap_net_raw() {
  std::string v(20, '\0');
  v[0] = 0x01;  // effective
  v[3] = 0x02;  // revision 2
  v[5] = 0x20;  // permitted bit 13
  return v;
}

// Three layers using every feature; `c` compresses the first two.
std::vector<TestLayer> feature_layers(Compression c1, Compression c2) {
  std::vector<TestLayer> ls;
  ls.push_back(make_layer(
      {tar_dir("bin/"), tar_dir("etc/"), tar_dir("usr/"), tar_dir("usr/bin/"), tar_dir("var/"),
       tar_dir("var/cache/"), tar_dir("opt/"), tar_dir("opt/app/"), tar_dir("dev/"),
       tar_dir("tmp/", 01777), owned(tar_dir("home/"), 0, 0), owned(tar_dir("home/user/", 0700), 1000, 1000),
       tar_file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
       owned(tar_file("etc/shadow", "root:*:1::::::\n", 0640), 0, 42),
       tar_file("etc/remove-me", "bye"),
       tar_file("usr/bin/su", "suid binary", 04755),
       owned(tar_file("usr/bin/wall", "sgid binary", 02755), 0, 5),
       with_xattr(tar_file("usr/bin/ping", "ping", 0755), "security.capability", cap_net_raw()),
       with_xattr(with_xattr(tar_file("etc/noted", "n"), "user.note", "hello"), "trusted.ecsa", "1"),
       tar_file("bin/busy", "busybox body", 0755),
       tar_hardlink("bin/hl", "bin/busy"),
       tar_symlink("bin/sh", "busy"),
       owned(tar_file("home/user/.profile", "export A=1\n", 0600), 1000, 1000),
       tar_chardev("dev/null", 1, 3),
       owned(blockdev("dev/sda", 8, 0), 0, 6),
       tar_fifo("dev/fifo"),
       tar_file("opt/app/old.txt", "old"),
       tar_file("var/cache/a", "a"),
       tar_file("var/cache/b", "b")},
      c1));
  ls.push_back(make_layer(
      {tar_dir("etc/"), tar_file("etc/.wh.remove-me", ""), tar_file("etc/passwd", "root:x:0:0::/root:/bin/ash\n"),
       tar_dir("var/"), tar_dir("var/cache/", 0700), tar_file("var/cache/.wh..wh..opq", ""),
       tar_file("var/cache/new", "new"), tar_dir("opt/"), tar_file("opt/.wh.app", ""),
       tar_dir("usr/"), tar_dir("usr/bin/"), tar_file("usr/bin/newtool", "nt", 0700),
       tar_hardlink("usr/bin/newtool-link", "usr/bin/newtool")},
      c2, ls[0].info.chain_id));
  ls.push_back(make_layer(
      {tar_dir("opt/"), tar_dir("opt/app/", 0750), tar_file("opt/app/new.txt", "fresh"),
       tar_dir("bin/"), tar_symlink("bin/sh", "/bin/busy"), tar_dir("dev/"),
       tar_file("dev/.wh.fifo", "")},
      Compression::none, ls[1].info.chain_id));
  return ls;
}

oci::ImageRecord image_of(const std::vector<TestLayer>& layers, const std::string& name) {
  oci::ImageRecord r;
  r.names = {name};
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const auto& l : layers) diff_ids.push_back(l.info.diff_id);
  nlohmann::json cfg = {{"architecture", "amd64"},
                        {"os", "linux"},
                        {"created", "2024-01-02T03:04:05Z"},
                        {"config", nlohmann::json::object()},
                        {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  r.config_json = cfg.dump();
  r.config_digest = oci::sha256_digest(r.config_json);
  for (const auto& l : layers) r.layers.push_back(l.info);
  return r;
}

struct RootfsGuard {
  oci::ImageStore& store;
  std::string id;
  ~RootfsGuard() {
    try {
      store.release_rootfs(id);
    } catch (...) {
    }
  }
};

struct EnvGuard {
  std::string name;
  explicit EnvGuard(const std::string& n, const std::string& v) : name(n) { ::setenv(n.c_str(), v.c_str(), 1); }
  ~EnvGuard() { ::unsetenv(name.c_str()); }
};

std::string xattr_of(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

void check_merged_tree(const std::string& root) {
  auto snap = snapshot(root);
  REQUIRE_FALSE(snap.count("etc/remove-me"));
  REQUIRE_FALSE(snap.count("var/cache/a"));
  REQUIRE_FALSE(snap.count("opt/app/old.txt"));
  REQUIRE_FALSE(snap.count("dev/fifo"));
  REQUIRE(snap.count("var/cache/new"));
  REQUIRE(snap.at("var/cache").mode == 0700);
  REQUIRE(snap.at("opt/app").mode == 0750);
  REQUIRE(fs::read_file(root + "/opt/app/new.txt") == "fresh");
  REQUIRE(fs::read_file(root + "/etc/passwd") == "root:x:0:0::/root:/bin/ash\n");
  REQUIRE(snap.at("usr/bin/su").mode == 04755);
  REQUIRE(snap.at("usr/bin/wall").mode == 02755);
  REQUIRE(snap.at("usr/bin/wall").gid == 5);
  REQUIRE(snap.at("etc/shadow").gid == 42);
  REQUIRE(snap.at("home/user").uid == 1000);
  REQUIRE(snap.at("tmp").mode == 01777);
  REQUIRE(snap.at("dev/null").type == 'c');
  REQUIRE(snap.at("dev/null").rdev == makedev(1, 3));
  REQUIRE(snap.at("dev/sda").type == 'b');
  REQUIRE(snap.at("bin/sh").content == "/bin/busy");
  REQUIRE(xattr_of(root + "/etc/noted", "user.note") == "hello");
  REQUIRE(xattr_of(root + "/etc/noted", "trusted.ecsa") == "1");
  REQUIRE(xattr_of(root + "/usr/bin/ping", "security.capability") == cap_net_raw());
  struct stat a, b;
  REQUIRE(::lstat((root + "/bin/busy").c_str(), &a) == 0);
  REQUIRE(::lstat((root + "/bin/hl").c_str(), &b) == 0);
  REQUIRE(a.st_ino == b.st_ino);
  REQUIRE(a.st_mtime == 1700000000);
  REQUIRE(::lstat((root + "/usr/bin/newtool").c_str(), &a) == 0);
  REQUIRE(::lstat((root + "/usr/bin/newtool-link").c_str(), &b) == 0);
  REQUIRE(a.st_ino == b.st_ino);
}

std::string run_cmd(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  INFO(cmd << "\n" << out);
  REQUIRE(WIFEXITED(rc));
  REQUIRE(WEXITSTATUS(rc) == 0);
  return out;
}

// An OCI image layout with `layers` under tag "test", for umoci.
void write_oci_layout(const std::string& dir, const std::vector<TestLayer>& layers,
                      const oci::ImageRecord& img) {
  fs::mkdir_p(dir + "/blobs/sha256");
  auto put = [&](const std::string& data) {
    std::string d = oci::sha256_digest(data);
    fs::write_file_atomic(dir + "/blobs/sha256/" + d.substr(7), data);
    return d;
  };
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers) {
    put(l.blob);
    ls.push_back({{"mediaType", l.info.media_type}, {"digest", l.info.digest}, {"size", l.blob.size()}});
  }
  put(img.config_json);
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"config",
       {{"mediaType", "application/vnd.oci.image.config.v1+json"},
        {"digest", img.config_digest},
        {"size", img.config_json.size()}}},
      {"layers", ls}};
  std::string m = manifest.dump();
  std::string md = put(m);
  nlohmann::json index = {
      {"schemaVersion", 2},
      {"manifests",
       {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
         {"digest", md},
         {"size", m.size()},
         {"annotations", {{"org.opencontainers.image.ref.name", "test"}}}}}}};
  fs::write_file_atomic(dir + "/index.json", index.dump());
  fs::write_file_atomic(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
}

}  // namespace

TEST_CASE("layers are stored in overlay form with every attribute", "[integration][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path() + "/store");
  auto ls = feature_layers(Compression::gzip, Compression::zstd);
  std::string parent;
  for (const auto& l : ls) {
    REQUIRE(store_layer(store, l, parent, 777));
    parent = l.info.chain_id;
  }
  std::string l1 = store.layer_dir(ls[0].info.chain_id) + "/diff";
  std::string l2 = store.layer_dir(ls[1].info.chain_id) + "/diff";
  struct stat st;
  REQUIRE(::lstat((l2 + "/etc/remove-me").c_str(), &st) == 0);
  REQUIRE(S_ISCHR(st.st_mode));
  REQUIRE(st.st_rdev == makedev(0, 0));
  REQUIRE(::lstat((l2 + "/opt/app").c_str(), &st) == 0);
  REQUIRE(S_ISCHR(st.st_mode));
  REQUIRE(xattr_of(l2 + "/var/cache", "trusted.overlay.opaque") == "y");
  REQUIRE_FALSE(fs::exists(l2 + "/var/cache/.wh..wh..opq"));
  REQUIRE(::lstat((l1 + "/usr/bin/su").c_str(), &st) == 0);
  REQUIRE((st.st_mode & 07777) == 04755);
  REQUIRE(xattr_of(l1 + "/usr/bin/ping", "security.capability") == cap_net_raw());
  REQUIRE(::lstat((l1 + "/dev/fifo").c_str(), &st) == 0);
  REQUIRE(S_ISFIFO(st.st_mode));
  REQUIRE(::lstat((l1 + "/etc").c_str(), &st) == 0);
  REQUIRE(st.st_mtime == 1700000000);
}

TEST_CASE("overlay rootfs shows the merged tree; the flattened copy is the same",
          "[integration][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path() + "/store");
  auto ls = feature_layers(Compression::gzip, Compression::zstd);
  std::string parent;
  for (const auto& l : ls) {
    store_layer(store, l, parent);
    parent = l.info.chain_id;
  }
  auto img = image_of(ls, "test/features:1");
  store.commit_image(img);

  std::map<std::string, NodeInfo> merged_snap, flat_snap;
  {
    RootfsGuard g{store, "c-overlay"};
    std::string rootfs = store.prepare_rootfs("c-overlay", img);
    REQUIRE(rootfs == t.path() + "/store/containers/c-overlay/merged");
    REQUIRE(run_cmd("findmnt -n -o FSTYPE " + rootfs).find("overlay") != std::string::npos);
    check_merged_tree(rootfs);
    merged_snap = snapshot(rootfs);
    // The container writes into its upper dir only.
    fs::write_file_atomic(rootfs + "/etc/written", "w");
    REQUIRE(fs::exists(t.path() + "/store/containers/c-overlay/upper/etc/written"));
    REQUIRE_FALSE(fs::exists(store.layer_dir(ls[0].info.chain_id) + "/diff/etc/written"));
  }
  REQUIRE_FALSE(fs::exists(t.path() + "/store/containers/c-overlay"));
  {
    EnvGuard env("ECSA_NO_OVERLAY", "1");
    RootfsGuard g{store, "c-flat"};
    std::string rootfs = store.prepare_rootfs("c-flat", img);
    REQUIRE(rootfs == t.path() + "/store/containers/c-flat/rootfs");
    check_merged_tree(rootfs);
    flat_snap = snapshot(rootfs);
  }
  INFO(describe_diff(merged_snap, flat_snap));
  REQUIRE(merged_snap == flat_snap);
}

TEST_CASE("a rootfs keeps its layers from prune until released", "[integration][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path() + "/store");
  auto ls = feature_layers(Compression::gzip, Compression::gzip);
  std::string parent;
  for (const auto& l : ls) {
    store_layer(store, l, parent);
    parent = l.info.chain_id;
  }
  auto img = image_of(ls, "test/keep:1");
  store.commit_image(img);
  RootfsGuard g{store, "c-keep"};
  store.prepare_rootfs("c-keep", img);
  store.remove_image("test/keep:1");
  store.prune();
  for (const auto& l : ls) REQUIRE(store.has_layer(l.info.chain_id));
  store.release_rootfs("c-keep");
  REQUIRE(store.prune() > 0);
  for (const auto& l : ls) REQUIRE_FALSE(store.has_layer(l.info.chain_id));
}

TEST_CASE("the unpacked image is identical to what umoci unpack produces", "[integration][oci]") {
  if (::access("/usr/bin/umoci", X_OK) != 0) FAIL("umoci is not installed (packaging/deps/store.txt)");
  // umoci 0.4.7 (Debian 12) cannot read zstd layers: it compares gzip and plain ones.
  auto c2 = GENERATE(Compression::gzip, Compression::none);
  TempDir t;
  auto ls = feature_layers(Compression::gzip, c2);
  auto img = image_of(ls, "test/umoci:1");
  write_oci_layout(t.path() + "/layout", ls, img);
  run_cmd("umoci unpack --image " + t.path() + "/layout:test " + t.path() + "/bundle");
  auto reference = snapshot(t.path() + "/bundle/rootfs");
  REQUIRE(reference.count("var/cache/new"));
  REQUIRE_FALSE(reference.count("var/cache/a"));

  oci::StoreImpl store(t.path() + "/store");
  std::string parent;
  for (const auto& l : ls) {
    store_layer(store, l, parent);
    parent = l.info.chain_id;
  }
  store.commit_image(img);
  {
    RootfsGuard g{store, "c-umoci"};
    auto mine = snapshot(store.prepare_rootfs("c-umoci", img));
    INFO(describe_diff(reference, mine));
    REQUIRE(reference == mine);
  }
  {
    EnvGuard env("ECSA_NO_OVERLAY", "1");
    RootfsGuard g{store, "c-umoci-flat"};
    auto mine = snapshot(store.prepare_rootfs("c-umoci-flat", img));
    INFO(describe_diff(reference, mine));
    REQUIRE(reference == mine);
  }
}

TEST_CASE("a directory recreated over its whiteout in one layer hides the lower one",
          "[integration][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path() + "/store");
  auto l1 = make_layer({tar_dir("foo/"), tar_file("foo/old", "o"), tar_dir("bar/"),
                        tar_file("bar/old", "o")},
                       Compression::gzip);
  auto l2 = make_layer({tar_file(".wh.foo", ""), tar_dir("foo/"), tar_file("foo/new", "n"),
                        tar_file(".wh.bar", ""), tar_file("bar/new", "n")},
                       Compression::gzip, l1.info.chain_id);
  REQUIRE(store_layer(store, l1, ""));
  REQUIRE(store_layer(store, l2, l1.info.chain_id));
  std::string d2 = store.layer_dir(l2.info.chain_id) + "/diff";
  REQUIRE(xattr_of(d2 + "/foo", "trusted.overlay.opaque") == "y");
  REQUIRE(xattr_of(d2 + "/bar", "trusted.overlay.opaque") == "y");
  auto img = image_of({l1, l2}, "test/recreate:1");
  store.commit_image(img);
  for (bool overlay : {true, false}) {
    std::unique_ptr<EnvGuard> env;
    if (!overlay) env = std::make_unique<EnvGuard>("ECSA_NO_OVERLAY", "1");
    RootfsGuard g{store, overlay ? "c-ov" : "c-flat"};
    auto snap = snapshot(store.prepare_rootfs(g.id, img));
    std::vector<std::string> names;
    for (const auto& [k, v] : snap) names.push_back(k);
    REQUIRE(names == std::vector<std::string>{"bar", "bar/new", "foo", "foo/new"});
  }
}

TEST_CASE("an opaque marker at a layer root hides every lower layer", "[integration][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path() + "/store");
  auto l1 = make_layer({tar_dir("etc/"), tar_file("etc/old", "o")}, Compression::gzip);
  auto l2 = make_layer({tar_file(".wh..wh..opq", ""), tar_file("only", "n")}, Compression::gzip,
                       l1.info.chain_id);
  REQUIRE(store_layer(store, l1, ""));
  REQUIRE(store_layer(store, l2, l1.info.chain_id));
  auto img = image_of({l1, l2}, "test/root-opaque:1");
  store.commit_image(img);
  for (bool overlay : {true, false}) {
    std::unique_ptr<EnvGuard> env;
    if (!overlay) env = std::make_unique<EnvGuard>("ECSA_NO_OVERLAY", "1");
    RootfsGuard g{store, overlay ? "c-ov" : "c-flat"};
    auto snap = snapshot(store.prepare_rootfs(g.id, img));
    REQUIRE(snap.size() == 1);
    REQUIRE(snap.count("only"));
  }
}
