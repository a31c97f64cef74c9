// The store under failure: a full disk, kill -9 in the middle of an extraction, bounded
// memory for big layers; and the CLI verbs over a real store.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

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

std::vector<std::string> tmp_leftovers(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& n : fs::list_dir(root + "/layers"))
    if (n.rfind(".tmp-", 0) == 0) out.push_back(n);
  return out;
}

std::vector<std::string> committed_layers(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& n : fs::list_dir(root + "/layers"))
    if (n.rfind(".tmp-", 0) != 0) out.push_back(n);
  return out;
}

std::string pseudo_random(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    s[i] = static_cast<char>(seed >> 24);
  }
  return s;
}

struct Unmount {
  std::string path;
  ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
};

std::string run_cli(const std::string& args, const std::string& state, int* rc_out = nullptr) {
  const char* bin = std::getenv("ECSA_RUN");
  REQUIRE(bin);
  std::string cmd = "ECSA_STATE_DIR=" + state + " " + bin + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  if (rc_out) {
    *rc_out = code;
  } else {
    INFO(cmd << "\n" << out);
    REQUIRE(code == 0);
  }
  return out;
}

}  // namespace

TEST_CASE("a full disk gives a clean error and no partial layer", "[integration][oci]") {
  TempDir t;
  std::string root = t.path() + "/small";
  fs::mkdir_p(root);
  if (::mount("tmpfs", root.c_str(), "tmpfs", 0, "size=1m") != 0) throw_errno("mount tmpfs " + root);
  Unmount um{root};
  oci::StoreImpl store(root);
  auto l = make_layer({tar_dir("data/"), tar_file("data/big", pseudo_random(3 << 20, 7))},
                      Compression::gzip);
  try {
    store_layer(store, l, "", 65536);
    FAIL("a 3 MiB layer fit in 1 MiB");
  } catch (const Error& e) {
    REQUIRE_THAT(e.what(), Catch::Matchers::Contains("No space left on device"));
    REQUIRE_THAT(e.what(), Catch::Matchers::Contains("data/big"));
  }
  REQUIRE(tmp_leftovers(root).empty());
  REQUIRE(committed_layers(root).empty());
  REQUIRE_FALSE(store.has_layer(l.info.chain_id));
  // The store still works once there is room.
  auto small = make_layer({tar_file("ok", "fits")}, Compression::gzip);
  REQUIRE(store_layer(store, small, ""));
}

TEST_CASE("kill -9 during extraction: the next pull succeeds and leftovers are collected",
          "[integration][oci]") {
  TempDir t;
  std::string root = t.path() + "/store";
  auto l = make_layer({tar_dir("d/"), tar_file("d/a", pseudo_random(4 << 20, 1)),
                       tar_file("d/b", pseudo_random(4 << 20, 2))},
                      Compression::gzip);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(ready[0]);
    try {
      oci::StoreImpl store(root);
      auto w = store.begin_layer(l.info, "");
      w->write(l.blob.data(), l.blob.size() / 2);
      ::usleep(200000);  // let the worker write files
      (void)!::write(ready[1], "x", 1);
      ::pause();
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(ready[1]);
  char c;
  bool got = ::read(ready[0], &c, 1) == 1;
  ::close(ready[0]);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(got);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(tmp_leftovers(root).size() == 1);  // what the killed pull left
  oci::StoreImpl store(root);
  REQUIRE_FALSE(store.has_layer(l.info.chain_id));
  REQUIRE(store_layer(store, l, "", 65536));
  REQUIRE(tmp_leftovers(root).empty());
  REQUIRE(fs::read_file(store.layer_dir(l.info.chain_id) + "/diff/d/b") == pseudo_random(4 << 20, 2));

  // A leftover of another layer is collected by prune.
  fs::mkdir_p(root + "/layers/.tmp-" + std::string(64, 'a') + "-1-0/diff");
  store.prune();
  REQUIRE(tmp_leftovers(root).empty());
}

namespace {
// Streams a gzip layer of `files` x `file_size` bytes of compressible content straight into
// `w` without holding it: the test itself must not need the memory it measures.
struct StreamState {
  oci::LayerWriter* w;
  oci::Hasher* tar_hash;
};
la_ssize_t to_writer(struct archive*, void* ud, const void* buf, size_t n) {
  static_cast<StreamState*>(ud)->w->write(buf, n);
  return static_cast<la_ssize_t>(n);
}
}  // namespace

TEST_CASE("peak memory of a big layer stays under 32 MiB", "[integration][oci]") {
  TempDir t;
  std::string root = t.path() + "/store";
  const int files = 3;
  const size_t file_size = 64 << 20;
  // First pass: the diff_id, computed by generating the same tar stream.
  auto generate = [&](auto&& sink) {
    struct archive* a = archive_write_new();
    archive_write_set_format_pax(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, &sink, nullptr,
                       [](struct archive*, void* ud, const void* b, size_t n) -> la_ssize_t {
                         (*static_cast<std::decay_t<decltype(sink)>*>(ud))(b, n);
                         return static_cast<la_ssize_t>(n);
                       },
                       nullptr);
    std::string block = pseudo_random(1 << 20, 3);
    for (size_t i = 0; i < block.size(); i += 4) block[i] = 'a';  // compressible, not trivial
    for (int f = 0; f < files; ++f) {
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, ("f" + std::to_string(f)).c_str());
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, static_cast<la_int64_t>(file_size));
      archive_write_header(a, e);
      for (size_t off = 0; off < file_size; off += block.size()) archive_write_data(a, block.data(), block.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
  };
  oci::Hasher tar_hash;
  auto hash_sink = [&](const void* b, size_t n) { tar_hash.update(b, n); };
  generate(hash_sink);
  oci::LayerInfo info;
  info.diff_id = tar_hash.finish();
  info.chain_id = info.diff_id;
  info.digest = oci::sha256_digest("not checked by the store");
  info.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";

  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(pipefd[0]);
    long rss_kb = -1;
    try {
      oci::StoreImpl store(root);
      auto w = store.begin_layer(info, "");
      // Compress on the fly with a raw gzip writer feeding the layer writer.
      struct archive* gz = archive_write_new();
      archive_write_set_format_raw(gz);
      archive_write_add_filter_gzip(gz);
      archive_write_set_bytes_in_last_block(gz, 1);
      StreamState st{w.get(), nullptr};
      archive_write_open(gz, &st, nullptr, to_writer, nullptr);
      archive_entry* e = archive_entry_new();
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_pathname(e, "layer");
      archive_write_header(gz, e);
      archive_entry_free(e);
      auto tar_sink = [&](const void* b, size_t n) { archive_write_data(gz, b, n); };
      generate(tar_sink);
      archive_write_close(gz);
      archive_write_free(gz);
      w->commit();
      struct rusage ru;
      ::getrusage(RUSAGE_SELF, &ru);
      rss_kb = ru.ru_maxrss;
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "child: %s\n", ex.what());
    }
    (void)!::write(pipefd[1], &rss_kb, sizeof rss_kb);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  long rss_kb = -1;
  REQUIRE(::read(pipefd[0], &rss_kb, sizeof rss_kb) == sizeof rss_kb);
  ::close(pipefd[0]);
  ::waitpid(pid, nullptr, 0);
  INFO("peak RSS " << rss_kb << " KiB");
  REQUIRE(rss_kb > 0);
#if defined(__SANITIZE_ADDRESS__)
  WARN("AddressSanitizer build: peak RSS not checked (shadow memory and quarantine)");
#else
  REQUIRE(rss_kb < 32 * 1024);
#endif
  oci::StoreImpl store(root);
  REQUIRE(store.has_layer(info.chain_id));
  REQUIRE(store.layer_meta(info.chain_id)->content_bytes == int64_t(files) * int64_t(file_size));
}

TEST_CASE("images and image inspect and rmi and image prune on the command line", "[integration][oci]") {
  TempDir t;
  std::string root = t.path() + "/store";
  {
    oci::StoreImpl store(root);
    auto l = make_layer({tar_file("hello", std::string(2500, 'h'))}, Compression::gzip);
    store_layer(store, l, "");
    oci::ImageRecord r;
    r.names = {"docker.io/library/busybox:latest", "127.0.0.1:5000/tools/bb:1.36"};
    r.config_json = R"({"created":"2024-01-02T03:04:05Z","architecture":"amd64","os":"linux","config":{"Cmd":["sh"]}})";
    r.config_digest = oci::sha256_digest(r.config_json);
    r.repo_digest = "docker.io/library/busybox@" + oci::sha256_digest("index");
    r.platform = "linux/amd64";
    r.layers = {l.info};
    store.commit_image(r);
  }
  std::string table = run_cli("images", root);
  INFO(table);
  REQUIRE(table.rfind("REPOSITORY", 0) == 0);
  REQUIRE(table.find("IMAGE ID") != std::string::npos);
  REQUIRE(table.find("busybox ") != std::string::npos);
  REQUIRE(table.find("127.0.0.1:5000/tools/bb") != std::string::npos);
  REQUIRE(table.find("1.36") != std::string::npos);
  REQUIRE(table.find("2.5kB") != std::string::npos);
  REQUIRE(table.find("ago") != std::string::npos);

  auto j = nlohmann::json::parse(run_cli("images --format json", root));
  REQUIRE(j.size() == 1);
  REQUIRE(j[0]["repository"] == "busybox");
  REQUIRE(j[0]["tag"] == "latest");
  REQUIRE(j[0]["size"] == 2500);
  std::string id = j[0]["id"];

  auto insp = nlohmann::json::parse(run_cli("image inspect busybox", root));
  REQUIRE(insp[0]["Id"] == id);
  REQUIRE(insp[0]["Config"]["Cmd"][0] == "sh");
  REQUIRE(insp[0]["RootFS"]["Layers"].size() == 1);

  int rc = 0;
  std::string err = run_cli("image inspect nothere", root, &rc);
  REQUIRE(rc == 1);
  REQUIRE(err == "ecsa-run: image inspect nothere: no such image\n");

  REQUIRE(run_cli("rmi busybox", root) == "Untagged: docker.io/library/busybox:latest\n");
  std::string out = run_cli("rmi " + id.substr(7, 12), root);
  REQUIRE(out.find("Deleted: " + id) != std::string::npos);
  out = run_cli("image prune", root);
  REQUIRE(out.find("Total reclaimed space: 2.") != std::string::npos);
  REQUIRE(committed_layers(root).empty());
  REQUIRE(run_cli("images --help", root).find("Usage: ecsa-run images") != std::string::npos);
}
