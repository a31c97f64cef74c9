// `ecsa-run pull` end to end: Debian's docker-registry on 127.0.0.1 with the fixture images
// pushed by skopeo, the real image store in a temporary state directory.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/digest.hpp"
#include "oci/image_store.hpp"
#include "oci/registry_http.hpp"
#include "tests/integration/oci_test_image.hpp"
#include "tests/support/registry.hpp"

using namespace ecsa;
using ecsa::test::ShellResult;
using ecsa::test::TestRegistry;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/ecsa-test-pull-XXXXXX";
    if (!mkdtemp(t)) throw_errno("mkdtemp");
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string ecsa_run() {
  const char* r = std::getenv("ECSA_RUN");
  return r ? r : "build/ecsa-run";
}

// Runs `ecsa-run pull ARGS` with the state dir and registries config of the test.
ShellResult pull(const std::string& state, const std::string& args, const std::string& env = "") {
  return test::run_shell_status("env ECSA_STATE_DIR=" + state + " " + env + " " + ecsa_run() +
                                " pull --progress json " + args);
}

std::string layout_manifest_digest(const std::string& image) {
  auto idx = nlohmann::json::parse(fs::read_file(test::oci_fixture_images() + "/" + image +
                                                 "/index.json"));
  return idx["manifests"][0]["digest"].get<std::string>();
}

std::string layer_dir(const std::string& state, const std::string& chain) {
  return state + "/layers/" + chain.substr(7) + "/diff";
}

bool usable() {
  if (!test::registry_tools_available()) {
    WARN("docker-registry/skopeo not installed: skipped");
    return false;
  }
  if (geteuid() != 0) {
    WARN("needs root (layers hold whiteout device nodes): skipped");
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("pull by tag and by digest from a plain HTTP registry", "[integration][oci][pull]") {
  if (!usable()) return;
  TestRegistry reg;
  reg.push_fixtures();
  TempDir state;
  test::ScopedEnv conf("ECSA_REGISTRIES_CONF", state.path + "/no-registries.json");

  ShellResult r = pull(state.path, reg.host() + "/busybox");
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  // Docker-style JSON lines, ending with the digest of what was pulled.
  std::vector<nlohmann::json> lines;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t nl = r.out.find('\n', pos);
    lines.push_back(nlohmann::json::parse(r.out.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  const std::string digest = layout_manifest_digest("busybox");
  REQUIRE(lines.size() >= 4);
  CHECK(lines.front()["status"] == "Pulling from busybox");
  CHECK(lines[lines.size() - 2]["status"] == "Digest: " + digest);
  CHECK(lines.back()["status"] == "Status: Downloaded newer image for " + reg.host() +
                                     "/busybox:latest");
  int complete = 0, downloading = 0;
  for (const auto& l : lines) {
    if (l["status"] == "Pull complete") ++complete;
    if (l["status"] == "Downloading") {
      ++downloading;
      CHECK(l["progressDetail"]["current"].get<int64_t>() <= l["progressDetail"]["total"].get<int64_t>());
    }
  }
  CHECK(complete == 2);
  CHECK(downloading >= 2);

  auto store = oci::ImageStore::open(state.path);
  auto img = store->find_image(reg.host() + "/busybox:latest");
  REQUIRE(img);
  CHECK(img->manifest_digest == digest);
  CHECK(img->repo_digest == reg.host() + "/busybox@" + digest);
  CHECK(oci::sha256_digest(img->config_json) == img->config_digest);
  REQUIRE(img->layers.size() == 2);
  CHECK(img->layers[1].media_type == "application/vnd.oci.image.layer.v1.tar+zstd");
  CHECK(img->layers[0].chain_id == img->layers[0].diff_id);
  CHECK(img->layers[1].chain_id ==
        oci::sha256_digest(img->layers[0].chain_id + " " + img->layers[1].diff_id));
  CHECK(fs::exists(layer_dir(state.path, img->layers[0].chain_id) + "/bin/busybox"));
  CHECK(fs::read_file(layer_dir(state.path, img->layers[1].chain_id) + "/etc/ecsa-fixture") ==
        "second layer\n");

  SECTION("pulling again downloads nothing") {
    ShellResult again = pull(state.path, reg.host() + "/busybox");
    REQUIRE(again.status == 0);
    CHECK(again.out.find("Already exists") != std::string::npos);
    CHECK(again.out.find("Pull complete") == std::string::npos);
    CHECK(again.out.find("Status: Image is up to date for " + reg.host() + "/busybox:latest") !=
          std::string::npos);
  }
  SECTION("by digest") {
    TempDir state2;
    ShellResult d = pull(state2.path, reg.host() + "/library/busybox@" + digest);
    INFO(d.out << d.err);
    REQUIRE(d.status == 0);
    auto s2 = oci::ImageStore::open(state2.path);
    auto img2 = s2->find_image(img->config_digest);
    REQUIRE(img2);
    CHECK(img2->repo_digest == reg.host() + "/library/busybox@" + digest);
  }
  SECTION("a digest the registry does not have") {
    ShellResult d = pull(state.path, reg.host() + "/busybox@sha256:" + std::string(64, 'e'));
    CHECK(d.status != 0);
    CHECK_THAT(d.err, Catch::Contains("not found") && Catch::Contains("MANIFEST_UNKNOWN"));
  }
}

TEST_CASE("pull rejects a layer whose bytes do not match its digest and commits nothing",
          "[integration][oci][pull]") {
  if (!usable()) return;
  TestRegistry reg;
  reg.push_fixtures();
  TempDir state;
  test::ScopedEnv conf("ECSA_REGISTRIES_CONF", state.path + "/no-registries.json");
  auto manifest = nlohmann::json::parse(
      fs::read_file(test::oci_fixture_images() + "/busybox/blobs/sha256/" +
                    layout_manifest_digest("busybox").substr(7)));
  std::string bad = manifest["layers"][0]["digest"];
  std::string path = reg.blob_path(bad);
  std::string data = fs::read_file(path);
  data[data.size() - 100] ^= 0x01;
  fs::write_file_atomic(path, data);

  ShellResult r = pull(state.path, reg.host() + "/busybox");
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains("digest mismatch: expected " + bad));
  auto store = oci::ImageStore::open(state.path);
  CHECK(store->list_images().empty());
  // Nothing half-written stays behind (the other layer may be complete: it is valid).
  for (const auto& name : fs::list_dir(state.path + "/layers"))
    CHECK(name.rfind(".tmp", 0) != 0);
}

TEST_CASE("pull picks the platform from an index", "[integration][oci][pull]") {
  if (!usable()) return;
  TestRegistry reg;
  reg.push_fixtures();
  TempDir state;
  test::ScopedEnv conf("ECSA_REGISTRIES_CONF", state.path + "/no-registries.json");
  auto store = oci::ImageStore::open(state.path);
  auto platform_of = [&](const std::string& args, std::string repo = "multi") {
    ShellResult r = pull(state.path, args + " " + reg.host() + "/" + repo);
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto img = store->find_image(reg.host() + "/" + repo + ":latest");
    REQUIRE(img);
    std::string top = img->layers.back().chain_id;
    return std::make_pair(img->platform,
                          fs::read_file(layer_dir(state.path, top) + "/platform"));
  };
  auto [p1, m1] = platform_of("--platform linux/arm64");
  CHECK(p1 == "linux/arm64");
  CHECK(m1 == "linux/arm64/v8\n");
  auto [p2, m2] = platform_of("--platform linux/arm/v8");  // arm/v8 runs arm/v7
  CHECK(p2 == "linux/arm/v7");
  CHECK(m2 == "linux/arm/v7\n");
  // The same as a Docker manifest list of Docker schema2 manifests.
  auto [p4, m4] = platform_of("--platform linux/arm/v7", "multi-docker");
  CHECK(p4 == "linux/arm/v7");
  CHECK(m4 == "linux/arm/v7\n");
#if defined(__x86_64__)
  auto [p3, m3] = platform_of("");
  CHECK(p3 == "linux/amd64");
  CHECK(m3 == "linux/amd64\n");
#endif
  ShellResult none = pull(state.path, "--platform linux/arm/v6 " + reg.host() + "/multi");
  CHECK(none.status == 1);
  CHECK_THAT(none.err, Catch::Contains("no image for platform linux/arm/v6 (the index offers: "
                                       "linux/amd64, linux/arm64, linux/arm/v7)"));
  ShellResult single = pull(state.path, "--platform linux/s390x " + reg.host() + "/busybox");
  CHECK(single.status == 1);
  CHECK_THAT(single.err, Catch::Contains("does not match the requested platform linux/s390x"));
}

TEST_CASE("pull from a TLS registry with Basic auth: --creds, --auth-file, config.json, helper",
          "[integration][oci][pull]") {
  if (!usable()) return;
  TestRegistry reg({.tls = true, .user = "puller", .password = "pw-4-tests"});
  reg.push_fixtures();
  TempDir state;
  test::ScopedEnv conf("ECSA_REGISTRIES_CONF", reg.write_registries_conf());
  test::ScopedEnv docker_config("DOCKER_CONFIG", state.path + "/docker");
  const std::string ref = reg.host() + "/busybox";
  auto pulled = [&] {
    auto store = oci::ImageStore::open(state.path + "/store");
    bool ok = store->find_image(ref + ":latest").has_value();
    if (ok) store->remove_image(ref + ":latest");
    return ok;
  };
  const std::string st = state.path + "/store";

  ShellResult anon = pull(st, ref);
  CHECK(anon.status == 1);
  CHECK_THAT(anon.err, Catch::Contains("authentication required and no credentials found"));

  ShellResult bad = pull(st, "--creds puller:not-the-pw " + ref);
  CHECK(bad.status == 1);
  CHECK_THAT(bad.err, Catch::Contains("401") && !Catch::Contains("not-the-pw"));

  ShellResult creds = pull(st, "--creds puller:pw-4-tests " + ref);
  INFO(creds.err);
  CHECK(creds.status == 0);
  CHECK(pulled());

  // The node agent's X-Registry-Auth: base64url JSON on stdin.
  std::string auth = oci::base64_encode(
      R"({"username":"puller","password":"pw-4-tests","serveraddress":")" + reg.host() + "\"}");
  for (auto& c : auth) c = c == '+' ? '-' : c == '/' ? '_' : c;
  ShellResult agent = test::run_shell_status("printf %s '" + auth + "' | env ECSA_STATE_DIR=" + st +
                                             " " + ecsa_run() + " pull --progress none --auth-file - " + ref);
  INFO(agent.err);
  CHECK(agent.status == 0);
  CHECK(pulled());

  // Docker's config.json "auths".
  fs::mkdir_p(state.path + "/docker");
  fs::write_file_atomic(state.path + "/docker/config.json",
                        "{\"auths\": {\"" + reg.host() + "\": {\"auth\": \"" +
                            oci::base64_encode("puller:pw-4-tests") + "\"}}}");
  ShellResult cfg = pull(st, ref);
  INFO(cfg.err);
  CHECK(cfg.status == 0);
  CHECK(pulled());

  // credHelpers: docker-credential-<name> get, server on stdin.
  fs::mkdir_p(state.path + "/bin");
  fs::write_file_atomic(state.path + "/bin/docker-credential-ecsatest",
                        "#!/bin/sh\nread server\necho \"$server\" > " + state.path +
                            "/helper-asked\n"
                            "echo '{\"ServerURL\":\"'$server'\",\"Username\":\"puller\","
                            "\"Secret\":\"pw-4-tests\"}'\n",
                        0755);
  fs::write_file_atomic(state.path + "/docker/config.json",
                        "{\"credHelpers\": {\"" + reg.host() + "\": \"ecsatest\"}}");
  ShellResult helper = pull(st, ref, "PATH=" + state.path + "/bin:$PATH");
  INFO(helper.err);
  CHECK(helper.status == 0);
  CHECK(pulled());
  CHECK(fs::read_file(state.path + "/helper-asked") == reg.host() + "\n");
}

TEST_CASE("pull --keep-blobs keeps verified blobs; a layer needed again comes from them",
          "[integration][oci][pull]") {
  if (!usable()) return;
  TestRegistry reg;
  TempDir work;
  test::ScopedEnv conf("ECSA_REGISTRIES_CONF", work.path + "/no-registries.json");
  using testing::make_layer;
  using testing::tar_dir;
  using testing::tar_file;
  // Three images share their top layer on different bases: its chain ID differs in each,
  // so each pull must extract it again.
  const std::string data = testing::test_bytes(300000, 7);
  testing::TestLayer top =
      make_layer({tar_dir("app"), tar_file("app/data", data)}, oci::Compression::gzip);
  std::vector<std::string> repos = {"kb/one", "kb/two", "kb/three"};
  std::vector<testing::TestLayer> bases;
  for (size_t i = 0; i < repos.size(); ++i) {
    bases.push_back(make_layer({tar_dir("etc"), tar_file("etc/base", repos[i] + "\n")},
                               oci::Compression::gzip));
    std::string layout = work.path + "/layout" + std::to_string(i);
    testing::write_oci_layout(layout, {bases[i], top});
    testing::push_oci_layout(reg, layout, repos[i]);
  }
  const std::string st = work.path + "/store";
  auto kept = [&](const std::string& digest) { return st + "/blobs/sha256/" + digest.substr(7); };
  auto blob_files = [&] {
    std::vector<std::string> out;
    if (fs::exists(st + "/blobs/sha256")) out = fs::list_dir(st + "/blobs/sha256");
    std::sort(out.begin(), out.end());
    return out;
  };
  auto top_tree_of = [&](const std::string& repo) {
    auto store = oci::ImageStore::open(st);
    auto img = store->find_image(reg.host() + "/" + repo + ":latest");
    REQUIRE(img);
    REQUIRE(img->layers.size() == 2);
    return layer_dir(st, img->layers[1].chain_id);
  };

  // Default: no compressed copy.
  ShellResult plain = pull(st, reg.host() + "/kb/one");
  INFO(plain.out << plain.err);
  REQUIRE(plain.status == 0);
  CHECK(blob_files().empty());
  REQUIRE(test::run_shell_status("env ECSA_STATE_DIR=" + st + " " + ecsa_run() +
                                 " rmi " + reg.host() + "/kb/one && env ECSA_STATE_DIR=" + st +
                                 " " + ecsa_run() + " image prune").status == 0);

  ShellResult one = pull(st, "--keep-blobs " + reg.host() + "/kb/one");
  INFO(one.out << one.err);
  REQUIRE(one.status == 0);
  std::vector<std::string> want = {bases[0].info.digest.substr(7), top.info.digest.substr(7)};
  std::sort(want.begin(), want.end());
  CHECK(blob_files() == want);  // no temporaries either
  CHECK(oci::sha256_digest(fs::read_file(kept(top.info.digest))) == top.info.digest);
  CHECK(oci::sha256_digest(fs::read_file(kept(bases[0].info.digest))) == bases[0].info.digest);

  SECTION("a damaged kept blob is dropped and the layer downloaded") {
    std::string bytes = fs::read_file(kept(top.info.digest));
    bytes[bytes.size() / 2] ^= 0x40;
    fs::write_file_atomic(kept(top.info.digest), bytes, 0600);
    ShellResult two = pull(st, "--keep-blobs " + reg.host() + "/kb/two");
    INFO(two.out << two.err);
    REQUIRE(two.status == 0);
    CHECK_THAT(two.err, Catch::Contains("kept blob") && Catch::Contains("downloading the layer"));
    CHECK(fs::read_file(top_tree_of("kb/two") + "/app/data") == data);
    // Downloaded again and kept again, intact.
    CHECK(oci::sha256_digest(fs::read_file(kept(top.info.digest))) == top.info.digest);
  }
  SECTION("the registry is not asked for a kept blob") {
    // Gone from the registry: only the kept copy can provide it.
    REQUIRE(::unlink(reg.blob_path(top.info.digest).c_str()) == 0);
    ShellResult three = pull(st, "--keep-blobs " + reg.host() + "/kb/three");
    INFO(three.out << three.err);
    REQUIRE(three.status == 0);
    CHECK_THAT(three.out, Catch::Contains("\"Using kept blob\""));
    CHECK(fs::read_file(top_tree_of("kb/three") + "/app/data") == data);
  }
  // Blobs go with the last image that lists them.
  REQUIRE(test::run_shell_status("env ECSA_STATE_DIR=" + st + " " + ecsa_run() + " rmi " +
                                 reg.host() + "/kb/one").status == 0);
  REQUIRE(test::run_shell_status("env ECSA_STATE_DIR=" + st + " " + ecsa_run() +
                                 " image prune").status == 0);
  auto left = blob_files();
  CHECK(std::find(left.begin(), left.end(), bases[0].info.digest.substr(7)) == left.end());
  for (const char* r : {"kb/two", "kb/three"})
    test::run_shell_status("env ECSA_STATE_DIR=" + st + " " + ecsa_run() + " rmi " +
                           reg.host() + "/" + r);
  REQUIRE(test::run_shell_status("env ECSA_STATE_DIR=" + st + " " + ecsa_run() +
                                 " image prune").status == 0);
  CHECK(blob_files().empty());
  CHECK(fs::list_dir(st + "/layers").empty());
}

TEST_CASE("a failed pull prints its error on a line of its own, after the progress",
          "[integration][oci][pull]") {
  if (!usable()) return;
  TestRegistry reg;
  reg.push_fixtures();
  TempDir state;
  test::ScopedEnv conf("ECSA_REGISTRIES_CONF", state.path + "/no-registries.json");
  // A layer whose bytes do not match its digest: the pull fails after progress lines.
  auto manifest = nlohmann::json::parse(
      fs::read_file(test::oci_fixture_images() + "/busybox/blobs/sha256/" +
                    layout_manifest_digest("busybox").substr(7)));
  std::string path = reg.blob_path(manifest["layers"][0]["digest"]);
  std::string data = fs::read_file(path);
  data[data.size() - 100] ^= 0x01;
  fs::write_file_atomic(path, data);
  const std::string cmd = "env ECSA_STATE_DIR=" + state.path + " " + ecsa_run() + " pull ";
  // The error must start a line: what precedes it is a line end (or, on a terminal, a
  // carriage return that leaves the cursor at the start of an empty line).
  auto error_starts_line = [](const std::string& out, bool tty) {
    size_t pos = out.find("ecsa-run: ");
    if (pos == std::string::npos || pos == 0) return pos == 0;
    char before = out[pos - 1];
    return before == '\n' || (tty && before == '\r');
  };

  for (const char* mode : {"plain", "json"}) {
    ShellResult r = test::run_shell_status(cmd + "--progress " + mode + " " + reg.host() +
                                           "/busybox 2>&1");
    INFO(mode << ": " << r.out);
    CHECK(r.status == 1);
    CHECK_THAT(r.out, Catch::Contains("Pulling from busybox") &&
                          Catch::Contains("ecsa-run: blob: digest mismatch"));
    CHECK(error_starts_line(r.out, false));
    fs::remove_all(state.path + "/layers");
  }
  if (std::system("command -v script >/dev/null 2>&1") == 0) {
    // A terminal (script's pty): lines redrawn in place, then the error below them.
    ShellResult r = test::run_shell_status("script -qec '" + cmd + reg.host() +
                                           "/busybox' /dev/null");
    INFO("terminal: " << r.out);
    CHECK_THAT(r.out, Catch::Contains("Pulling from busybox") &&
                          Catch::Contains("ecsa-run: blob: digest mismatch"));
    CHECK(error_starts_line(r.out, true));
  }
}
