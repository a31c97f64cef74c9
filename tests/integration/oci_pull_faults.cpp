// `ecsa-run pull` killed with SIGKILL at random moments (manifest, mid-download, mid-
// extraction, between a layer's rename and the image record), then pulled again: the image
// and every layer tree must equal those of a clean pull, and after `image prune` nothing of
// the killed pull may remain. A real registry (docker-registry on 127.0.0.1), the real CLI.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/digest.hpp"
#include "oci/image_store.hpp"
#include "tests/integration/oci_test_image.hpp"
#include "tests/support/registry.hpp"

using namespace ecsa;
using namespace ecsa::testing;

namespace {

std::string ecsa_run() {
  const char* r = std::getenv("ECSA_RUN");
  return r ? r : "build/ecsa-run";
}

// Starts `ecsa-run pull ARGS...` with its own state dir, output discarded.
pid_t start_pull(const std::string& state, const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    setenv("ECSA_STATE_DIR", state.c_str(), 1);
    std::vector<char*> argv;
    std::string bin = ecsa_run(), verb = "pull", p1 = "--progress", p2 = "none";
    argv.push_back(bin.data());
    argv.push_back(verb.data());
    argv.push_back(p1.data());
    argv.push_back(p2.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}

// Runs a pull to the end; returns its duration.
double pull_ok(const std::string& state, const std::vector<std::string>& args) {
  auto t0 = std::chrono::steady_clock::now();
  int st = wait_status(start_pull(state, args));
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void cli_ok(const std::string& state, const std::string& args) {
  test::ShellResult r =
      test::run_shell_status("env ECSA_STATE_DIR=" + state + " " + ecsa_run() + " " + args);
  INFO(args << ": " << r.out << r.err);
  REQUIRE(r.status == 0);
}

std::vector<std::string> sorted_list(const std::string& dir) {
  std::vector<std::string> v;
  if (fs::exists(dir)) v = fs::list_dir(dir);
  std::sort(v.begin(), v.end());
  return v;
}

// What a store holds, by name: layers, image records, kept blobs (locks are left out: lock
// files are created on demand and are not data).
struct StoreView {
  std::vector<std::string> layers, images, blobs;
  bool operator==(const StoreView&) const = default;
};
StoreView view(const std::string& root) {
  return {sorted_list(root + "/layers"), sorted_list(root + "/images"),
          sorted_list(root + "/blobs/sha256")};
}
std::string show(const StoreView& v) {
  std::string s;
  for (const auto* part : {&v.layers, &v.images, &v.blobs}) {
    s += "[";
    for (const auto& n : *part) s += n + " ";
    s += "] ";
  }
  return s;
}

// The layer trees of an image, base first.
std::vector<std::map<std::string, NodeInfo>> image_trees(const std::string& root,
                                                         const oci::ImageRecord& img) {
  std::vector<std::map<std::string, NodeInfo>> out;
  for (const auto& l : img.layers)
    out.push_back(snapshot(root + "/layers/" + l.chain_id.substr(7) + "/diff"));
  return out;
}

}  // namespace

TEST_CASE("pull killed with SIGKILL at random moments, then pulled again: identical image, "
          "no leftovers after prune",
          "[integration][oci][pull][faults]") {
  if (!test::registry_tools_available()) {
    WARN("docker-registry/skopeo not installed: skipped");
    return;
  }
  if (geteuid() != 0) {
    WARN("needs root (layers hold whiteout device nodes and owners): skipped");
    return;
  }
  test::TestRegistry reg;
  TempDir work;
  test::ScopedEnv conf("ECSA_REGISTRIES_CONF", work.path() + "/no-registries.json");

  // Four layers, a few MB each, so a kill lands in every phase: many files, one big file,
  // links, a whiteout and an opaque dir.
  std::vector<TarEntry> many = {tar_dir("usr"), tar_dir("usr/lib")};
  for (int i = 0; i < 400; ++i)
    many.push_back(tar_file("usr/lib/f" + std::to_string(i), test_bytes(6000 + 37 * i, i)));
  TestLayer l1 = make_layer(many, oci::Compression::gzip);
  TestLayer l2 = make_layer({tar_dir("opt"), tar_file("opt/big", test_bytes(6 << 20, 99), 0755)},
                            oci::Compression::gzip);
  std::vector<TarEntry> misc = {tar_dir("usr"), tar_dir("usr/lib"),
                                tar_file("usr/lib/.wh.f1", ""), tar_dir("etc"),
                                tar_file("etc/conf", "x=1\n", 0600), tar_symlink("etc/link", "conf"),
                                tar_hardlink("etc/hard", "etc/conf")};
  misc[4].uid = 1000;
  misc[4].gid = 1000;
  TestLayer l3 = make_layer(misc, oci::Compression::zstd);
  std::vector<TarEntry> more = {tar_dir("srv"), tar_file("srv/.wh..wh..opq", "")};
  for (int i = 0; i < 200; ++i)
    more.push_back(tar_file("srv/s" + std::to_string(i), test_bytes(20000, 1000 + i)));
  TestLayer l4 = make_layer(more, oci::Compression::gzip);
  std::string layout = work.path() + "/layout";
  const std::string image_id = write_oci_layout(layout, {l1, l2, l3, l4});
  push_oci_layout(reg, layout, "faults/app");
  const std::string ref = reg.host() + "/faults/app";

  // The reference: a clean pull, with and without kept blobs.
  const std::string clean = work.path() + "/clean", clean_kb = work.path() + "/clean-kb";
  double t_clean = pull_ok(clean, {ref});
  pull_ok(clean_kb, {"--keep-blobs", ref});
  auto clean_store = oci::ImageStore::open(clean);
  auto clean_img = clean_store->find_image(ref + ":latest");
  REQUIRE(clean_img);
  REQUIRE(clean_img->config_digest == image_id);
  const auto clean_trees = image_trees(clean, *clean_img);
  const StoreView clean_view = view(clean), clean_kb_view = view(clean_kb);
  REQUIRE(clean_kb_view.blobs.size() == 4);

  // Delays spread over the whole pull (and a little past its usual end). The seed is printed
  // so a failure can be replayed.
  unsigned seed = std::random_device{}();
  if (const char* s = std::getenv("ECSA_FAULT_SEED")) seed = unsigned(std::strtoul(s, nullptr, 10));
  INFO("ECSA_FAULT_SEED=" << seed << ", clean pull " << t_clean << " s");
  std::mt19937 rng(seed);
  const int rounds = 8;
  int killed_mid_pull = 0;
  for (int round = 0; round < rounds; ++round) {
    // Stratified: round r kills somewhere in the r-th eighth of 1.1x the clean pull time.
    double lo = t_clean * 1.1 * round / rounds, hi = t_clean * 1.1 * (round + 1) / rounds;
    double delay = std::uniform_real_distribution<double>(lo, hi)(rng);
    const bool keep = round % 2 == 1;
    const bool prune_first = round % 4 >= 2;
    const std::string st = work.path() + "/round" + std::to_string(round);
    INFO("round " << round << ": kill after " << delay << " s, keep-blobs " << keep
                  << ", prune before the second pull " << prune_first);
    std::vector<std::string> args;
    if (keep) args.push_back("--keep-blobs");
    args.push_back(ref);

    pid_t pid = start_pull(st, args);
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    kill(pid, SIGKILL);
    int status = wait_status(pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ++killed_mid_pull;

    if (prune_first && fs::exists(st)) {
      cli_ok(st, "image prune");
      // Only complete layers stay (the image record may not exist yet: its layers go).
      for (const auto& n : sorted_list(st + "/layers")) {
        CHECK(n.rfind(".tmp", 0) != 0);
        CHECK(fs::exists(st + "/layers/" + n + "/meta.json"));
      }
      for (const auto& n : sorted_list(st + "/blobs/sha256")) CHECK(n.rfind(".tmp", 0) != 0);
    }
    pull_ok(st, args);
    auto store = oci::ImageStore::open(st);
    auto img = store->find_image(ref + ":latest");
    REQUIRE(img);
    CHECK(img->config_digest == clean_img->config_digest);
    CHECK(img->manifest_digest == clean_img->manifest_digest);
    CHECK(img->config_json == clean_img->config_json);
    CHECK(img->size == clean_img->size);
    REQUIRE(img->layers.size() == clean_img->layers.size());
    for (size_t i = 0; i < img->layers.size(); ++i) {
      CHECK(img->layers[i].chain_id == clean_img->layers[i].chain_id);
      CHECK(img->layers[i].digest == clean_img->layers[i].digest);
    }
    auto trees = image_trees(st, *img);
    for (size_t i = 0; i < trees.size(); ++i) {
      INFO("layer " << i << ": " << describe_diff(clean_trees[i], trees[i]));
      CHECK(trees[i] == clean_trees[i]);
    }
    // A kept blob is only ever the verified blob.
    for (const auto& b : view(st).blobs) {
      if (b.rfind(".tmp", 0) == 0) continue;
      CHECK(oci::sha256_digest(fs::read_file(st + "/blobs/sha256/" + b)) == "sha256:" + b);
    }

    cli_ok(st, "image prune");
    StoreView v = view(st);
    // Kept blobs of a killed --keep-blobs pull stay only if they are the image's.
    INFO("store after prune: " << show(v) << " clean: " << show(keep ? clean_kb_view : clean_view));
    if (keep) {
      CHECK(v == clean_kb_view);
    } else {
      // A pull without --keep-blobs keeps none; what a killed one left of its own is gone.
      CHECK(v.layers == clean_view.layers);
      CHECK(v.images == clean_view.images);
      CHECK(v.blobs.empty());
    }
    // rmi + prune: an empty store again.
    cli_ok(st, "rmi " + ref);
    cli_ok(st, "image prune");
    StoreView empty = view(st);
    CHECK(empty.layers.empty());
    CHECK(empty.images.empty());
    CHECK(empty.blobs.empty());
    fs::remove_all(st);
  }
  // The delays must have hit pulls in flight, not only finished ones.
  CHECK(killed_mid_pull >= rounds / 2);
}
