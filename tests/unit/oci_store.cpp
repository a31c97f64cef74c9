// The image store: layer commit and sharing, diff_id checks, image records, prune.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/digest.hpp"
#include "oci/store_impl.hpp"
#include "tests/unit/oci_unpack_tar.hpp"

using namespace ecsa;
using namespace ecsa::testing;
using oci::Compression;

namespace {

std::vector<std::string> tmp_leftovers(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& n : fs::list_dir(root + "/layers"))
    if (n.rfind(".tmp-", 0) == 0) out.push_back(n);
  return out;
}

oci::ImageRecord make_image(const std::vector<TestLayer>& layers, const std::string& name,
                            const std::string& config = R"({"created":"2024-01-02T03:04:05Z"})") {
  oci::ImageRecord r;
  r.names = {name};
  r.config_json = config;
  r.config_digest = oci::sha256_digest(config);
  r.manifest_digest = oci::sha256_digest("manifest" + config);
  r.platform = "linux/amd64";
  for (const auto& l : layers) r.layers.push_back(l.info);
  return r;
}

}  // namespace

TEST_CASE("a layer is committed once and shared", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  TempDir t;
  oci::StoreImpl store(t.path());
  auto l1 = make_layer({tar_dir("etc/"), tar_file("etc/a", "1")}, Compression::gzip);
  auto l2 = make_layer({tar_file("etc/b", "2")}, Compression::zstd, l1.info.chain_id);
  REQUIRE_FALSE(store.has_layer(l1.info.chain_id));
  REQUIRE(store_layer(store, l1, ""));
  REQUIRE(store_layer(store, l2, l1.info.chain_id));
  REQUIRE(store.has_layer(l1.info.chain_id));
  REQUIRE_FALSE(store_layer(store, l1, ""));  // already there: begin_layer gives nullptr
  auto meta = store.layer_meta(l2.info.chain_id);
  REQUIRE(meta);
  REQUIRE(meta->parent_chain_id == l1.info.chain_id);
  REQUIRE(meta->diff_id == l2.info.diff_id);
  REQUIRE(meta->content_bytes == 1);
  REQUIRE(fs::read_file(store.layer_dir(l2.info.chain_id) + "/diff/etc/b") == "2");
  REQUIRE(tmp_leftovers(t.path()).empty());
}

TEST_CASE("a layer whose diff_id does not match is rejected and nothing is committed",
          "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  TempDir t;
  oci::StoreImpl store(t.path());
  auto l = make_layer({tar_file("a", "real")}, Compression::gzip);
  l.info.diff_id = oci::sha256_digest("something else");
  l.info.chain_id = l.info.diff_id;
  try {
    store_layer(store, l, "");
    FAIL("accepted");
  } catch (const Error& e) {
    REQUIRE_THAT(e.what(), Catch::Matchers::Contains("diff_id"));
    REQUIRE_THAT(e.what(), Catch::Matchers::Contains(l.info.diff_id));
  }
  REQUIRE_FALSE(store.has_layer(l.info.chain_id));
  REQUIRE(tmp_leftovers(t.path()).empty());
}

TEST_CASE("begin_layer checks the chain ID and media type", "[unit][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path());
  auto l = make_layer({tar_file("a", "x")}, Compression::none);
  auto bad = l.info;
  bad.chain_id = oci::sha256_digest("nope");
  REQUIRE_THROWS_WITH(store.begin_layer(bad, ""), Catch::Matchers::Contains("does not match"));
  bad = l.info;
  bad.media_type = "application/x-lzma";
  REQUIRE_THROWS_WITH(store.begin_layer(bad, ""),
                      Catch::Matchers::Contains("unsupported layer media type"));
}

TEST_CASE("an abandoned writer leaves nothing behind", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  TempDir t;
  oci::StoreImpl store(t.path());
  auto l = make_layer({tar_file("a", std::string(200000, 'a'))}, Compression::gzip);
  {
    auto w = store.begin_layer(l.info, "");
    REQUIRE(w);
    w->write(l.blob.data(), l.blob.size() / 2);
  }
  REQUIRE(tmp_leftovers(t.path()).empty());
  REQUIRE_FALSE(store.has_layer(l.info.chain_id));
  REQUIRE(store_layer(store, l, ""));
}

TEST_CASE("two pulls of the same layer at once share the work", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  TempDir t;
  auto l = make_layer({tar_file("big", std::string(3 << 20, 'q'))}, Compression::gzip);
  oci::StoreImpl s1(t.path()), s2(t.path());
  auto w1 = s1.begin_layer(l.info, "");
  REQUIRE(w1);
  bool second_result = true;
  std::thread other([&] {
    // Blocks on the layer lock until the first commits, then finds the layer there.
    second_result = s2.begin_layer(l.info, "") != nullptr;
  });
  ::usleep(100000);
  w1->write(l.blob.data(), l.blob.size());
  w1->commit();
  other.join();
  REQUIRE_FALSE(second_result);
  REQUIRE(s1.has_layer(l.info.chain_id));
}

TEST_CASE("image records: names lookup tag moves and removal", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  TempDir t;
  oci::StoreImpl store(t.path());
  auto l1 = make_layer({tar_file("a", "1")}, Compression::gzip);
  REQUIRE(store_layer(store, l1, ""));
  auto img = make_image({l1}, "docker.io/library/busybox:latest");
  store.commit_image(img);
  REQUIRE(store.list_images().size() == 1);
  REQUIRE(store.find_image("busybox"));
  REQUIRE(store.find_image("busybox:latest"));
  REQUIRE(store.find_image("docker.io/library/busybox:latest"));
  std::string hex = img.config_digest.substr(7);
  REQUIRE(store.find_image(hex.substr(0, 12)));
  REQUIRE(store.find_image(img.config_digest));
  REQUIRE_FALSE(store.find_image("alpine"));
  auto found = *store.find_image("busybox");
  REQUIRE(found.size == 1);
  REQUIRE(found.layers.size() == 1);
  REQUIRE(found.config_json == img.config_json);

  // The tag moves to a new image; the old one stays without names.
  auto img2 = make_image({l1}, "docker.io/library/busybox:latest", R"({"v":2})");
  img2.names.push_back("127.0.0.1:5000/bb:1");
  store.commit_image(img2);
  REQUIRE(store.list_images().size() == 2);
  REQUIRE(store.find_image("busybox")->config_digest == img2.config_digest);
  REQUIRE(store.find_image(hex)->names.empty());
  REQUIRE(store.remove_dangling_images() == 1);

  auto rep = store.remove_image_reporting("busybox");
  REQUIRE(rep == std::vector<std::string>{"Untagged: docker.io/library/busybox:latest"});
  REQUIRE(store.find_image("127.0.0.1:5000/bb:1"));
  rep = store.remove_image_reporting("127.0.0.1:5000/bb:1");
  REQUIRE(rep.back() == "Deleted: " + img2.config_digest);
  REQUIRE(store.list_images().empty());
  REQUIRE_THROWS_WITH(store.remove_image("busybox"),
                      "remove image busybox: no such image");
}

TEST_CASE("commit_image refuses an image whose layers are missing", "[unit][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path());
  auto l1 = make_layer({tar_file("a", "1")}, Compression::gzip);
  REQUIRE_THROWS_WITH(store.commit_image(make_image({l1}, "x:1")),
                      Catch::Matchers::Contains("is not in the store"));
  REQUIRE(store.list_images().empty());
}

TEST_CASE("prune removes unused layers and leftovers and keeps used ones", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  TempDir t;
  oci::StoreImpl store(t.path());
  auto used = make_layer({tar_file("a", "1")}, Compression::gzip);
  auto unused = make_layer({tar_file("b", std::string(1000, 'b'))}, Compression::gzip);
  REQUIRE(store_layer(store, used, ""));
  REQUIRE(store_layer(store, unused, ""));
  store.commit_image(make_image({used}, "x:1"));
  // A leftover of a dead pull.
  std::string leftover = t.path() + "/layers/.tmp-" + unused.info.chain_id.substr(7) + "-999999-0";
  fs::mkdir_p(leftover + "/diff");
  fs::write_file_atomic(leftover + "/diff/f", std::string(500, 'x'));
  int64_t freed = store.prune();  // file contents plus the layer's meta.json
  REQUIRE(freed >= 1500);
  REQUIRE(freed < 4096);
  REQUIRE(store.has_layer(used.info.chain_id));
  REQUIRE_FALSE(store.has_layer(unused.info.chain_id));
  REQUIRE(tmp_leftovers(t.path()).empty());
}

TEST_CASE("container ids are checked", "[unit][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path());
  REQUIRE_THROWS_WITH(store.container_dir("../x"), Catch::Matchers::Contains("without '/'"));
  REQUIRE_THROWS(store.container_dir(".."));
}

TEST_CASE("kept blobs: verified before they are committed, collected by prune",
          "[unit][oci]") {
  TempDir t;
  oci::StoreImpl store(t.path());
  const std::string blob = "compressed layer bytes";
  const std::string digest = oci::sha256_digest(blob);
  const std::string dir = t.path() + "/blobs/sha256";
  auto names = [&] {
    auto v = fs::list_dir(dir);
    std::sort(v.begin(), v.end());
    return v;
  };

  {  // Wrong bytes: commit refuses, the temporary goes with the writer.
    auto w = store.begin_blob(digest, int64_t(blob.size()));
    w->write("compressed layer bytez", blob.size());
    CHECK_THROWS_WITH(w->commit(), Catch::Contains("digest mismatch"));
  }
  CHECK(names().empty());
  CHECK_FALSE(store.find_blob(digest));
  {  // Too many bytes fail at once.
    auto w = store.begin_blob(digest, 4);
    CHECK_THROWS(w->write(blob.data(), blob.size()));
  }
  CHECK(names().empty());

  auto w = store.begin_blob(digest, int64_t(blob.size()));
  w->write(blob.data(), 10);
  w->write(blob.data() + 10, blob.size() - 10);
  // While a writer lives its temporary is not a leftover.
  store.collect_leftovers();
  REQUIRE(names().size() == 1);
  CHECK(names()[0].rfind(".tmp-", 0) == 0);
  w->commit();
  w.reset();
  auto p = store.find_blob(digest);
  REQUIRE(p);
  CHECK(*p == dir + "/" + digest.substr(7));
  CHECK(fs::read_file(*p) == blob);
  CHECK(names() == std::vector<std::string>{digest.substr(7)});

  // A dead writer's temporary (no lock held) and a blob no image lists: prune takes both.
  fs::write_file_atomic(dir + "/.tmp-" + std::string(64, 'a') + "-1-0", "partial", 0600, false);
  CHECK(store.prune() >= int64_t(blob.size() + 7));
  CHECK(names().empty());
  CHECK_THROWS_WITH(store.find_blob("md5:abc"), Catch::Contains("blob digest"));
}
