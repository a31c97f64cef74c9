// Layer unpacking: decompression, streaming extraction, hostile layers.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/digest.hpp"
#include "oci/layer_extract.hpp"
#include "oci/unpack_stream.hpp"
#include "tests/unit/oci_unpack_tar.hpp"

using namespace ecsa;
using namespace ecsa::testing;
using oci::Compression;

namespace {

// Unpacks `blob` into `dir` through the streaming path, in small chunks. Returns the
// digest of the uncompressed stream.
std::string unpack(const std::string& blob, Compression c, const std::string& dir,
                   size_t chunk = 1000) {
  oci::Hasher h;
  oci::StreamingUnpacker u(dir, "layer test", c,
                           [&](const void* p, size_t n) { h.update(p, n); });
  for (size_t off = 0; off < blob.size(); off += chunk)
    u.write(blob.data() + off, std::min(chunk, blob.size() - off));
  u.finish();
  return h.finish();
}

std::vector<TarEntry> basic_entries() {
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) >> 5);
  return {tar_dir("etc/"),
          tar_file("etc/hostname", "box\n"),
          tar_file("etc/big.bin", big, 0600),
          tar_dir("bin/"),
          tar_file("bin/tool", "#!/bin/sh\n", 0755),
          tar_hardlink("bin/tool2", "bin/tool"),
          tar_symlink("bin/sh", "/bin/tool"),
          tar_file("./implicit/parent/file", "x")};
}

}  // namespace

TEST_CASE("entry names are split and checked", "[unit][oci]") {
  using V = std::vector<std::string>;
  REQUIRE(oci::layer_path_components("./a//b/") == V{"a", "b"});
  REQUIRE(oci::layer_path_components("a/./b") == V{"a", "b"});
  REQUIRE(oci::layer_path_components("./").empty());
  REQUIRE_THROWS_WITH(oci::layer_path_components("/etc/passwd"),
                      "entry \"/etc/passwd\": absolute name refused");
  REQUIRE_THROWS_WITH(oci::layer_path_components("a/../../b"),
                      "entry \"a/../../b\": \"..\" in name refused");
  REQUIRE_THROWS(oci::layer_path_components(".."));
}

TEST_CASE("layer media types choose the decompressor", "[unit][oci]") {
  REQUIRE(oci::compression_for_media_type("application/vnd.oci.image.layer.v1.tar") ==
          Compression::none);
  REQUIRE(oci::compression_for_media_type("application/vnd.oci.image.layer.v1.tar+gzip") ==
          Compression::gzip);
  REQUIRE(oci::compression_for_media_type("application/vnd.oci.image.layer.v1.tar+zstd") ==
          Compression::zstd);
  REQUIRE(oci::compression_for_media_type(
              "application/vnd.docker.image.rootfs.diff.tar.gzip") == Compression::gzip);
  REQUIRE_THROWS_WITH(oci::compression_for_media_type("application/x-rar"),
                      "unsupported layer media type \"application/x-rar\"");
}

TEST_CASE("layers stream through gzip zstd and plain compression", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  auto c = GENERATE(Compression::none, Compression::gzip, Compression::zstd);
  TempDir t;
  std::string tar = build_tar(basic_entries());
  std::string digest = unpack(compress(tar, c), c, t.path());
  REQUIRE(digest == oci::sha256_digest(tar));
  std::string d = t.path();
  REQUIRE(fs::read_file(d + "/etc/hostname") == "box\n");
  REQUIRE(fs::read_file(d + "/etc/big.bin").size() == 300000);
  REQUIRE(fs::read_file(d + "/implicit/parent/file") == "x");
  struct stat a, b;
  REQUIRE(::lstat((d + "/bin/tool").c_str(), &a) == 0);
  REQUIRE(::lstat((d + "/bin/tool2").c_str(), &b) == 0);
  REQUIRE(a.st_ino == b.st_ino);
  REQUIRE((a.st_mode & 07777) == 0755);
  REQUIRE(a.st_mtime == 1700000000);
  REQUIRE(::lstat((d + "/etc/big.bin").c_str(), &a) == 0);
  REQUIRE((a.st_mode & 07777) == 0600);
  char buf[64];
  ssize_t n = ::readlink((d + "/bin/sh").c_str(), buf, sizeof buf);
  REQUIRE(std::string(buf, n > 0 ? n : 0) == "/bin/tool");
  REQUIRE(::lstat((d + "/etc").c_str(), &a) == 0);
  REQUIRE(a.st_mtime == 1700000000);  // directory times survive the entries created in them
}

TEST_CASE("a corrupt compressed stream fails with a clear error", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  TempDir t;
  std::string blob = compress(build_tar(basic_entries()), Compression::gzip);
  blob.resize(blob.size() / 2);
  REQUIRE_THROWS_WITH(unpack(blob, Compression::gzip, t.path()),
                      Catch::Matchers::StartsWith("layer test: "));
  std::string garbage(5000, 'z');
  REQUIRE_THROWS_WITH(unpack(garbage, Compression::zstd, t.path()),
                      Catch::Matchers::Contains("layer test"));
}

TEST_CASE("hostile layers are refused and nothing outside is written", "[unit][oci]") {
  struct Case {
    const char* what;
    std::vector<TarEntry> entries;
    const char* bad_entry;
  };
  std::vector<Case> cases = {
      {"absolute name", {tar_file("/outside/pwned", "x")}, "/outside/pwned"},
      {"dot-dot", {tar_file("a/../../outside/pwned", "x")}, "a/../../outside/pwned"},
      {"write through planted symlink (absolute)",
       {tar_symlink("evil", "OUTSIDE"), tar_file("evil/pwned", "x")}, "evil/pwned"},
      {"write through planted symlink (relative)",
       {tar_symlink("evil", "../outside"), tar_file("evil/pwned", "x")}, "evil/pwned"},
      {"dir entry through planted symlink",
       {tar_symlink("evil", "../outside"), tar_dir("evil/sub/")}, "evil/sub/"},
      {"hard link to outside (dot-dot)", {tar_hardlink("h", "../outside/secret")}, "h"},
      {"hard link to outside (absolute)", {tar_hardlink("h", "OUTSIDE/secret")}, "h"},
      {"hard link through planted symlink",
       {tar_symlink("evil", "../outside"), tar_hardlink("h", "evil/secret")}, "h"},
      {"whiteout climbing out", {tar_file("a/.wh...", "")}, "a/.wh..."},
      {"whiteout through planted symlink",
       {tar_symlink("evil", "../outside"), tar_file("evil/.wh.secret", "")}, "evil/.wh.secret"},
  };
  for (auto& c : cases) {
    DYNAMIC_SECTION(c.what) {
      TempDir t;
      std::string outside = t.path() + "/outside";
      std::string layer = t.path() + "/layer";
      fs::mkdir_p(outside);
      fs::mkdir_p(layer);
      fs::write_file_atomic(outside + "/secret", "s");
      for (auto& e : c.entries) {
        auto fix = [&](std::string& s) {
          if (auto p = s.find("OUTSIDE"); p != std::string::npos) s.replace(p, 7, outside);
        };
        fix(e.symlink);
        fix(e.hardlink);
      }
      std::string bad = c.bad_entry;
      if (auto p = bad.find("OUTSIDE"); p != std::string::npos) bad.replace(p, 7, outside);
      std::string tar = build_tar(c.entries);
      try {
        extract_tar(tar, layer);
        FAIL("hostile layer accepted: " << c.what);
      } catch (const Error& e) {
        INFO(e.what());
        REQUIRE(std::string(e.what()).find("\"" + bad + "\"") != std::string::npos);
      }
      REQUIRE(list_tree(outside) == std::vector<std::string>{"secret"});
      REQUIRE(fs::read_file(outside + "/secret") == "s");
    }
  }
}

TEST_CASE("later entries replace earlier ones", "[unit][oci]") {
  TempDir t;
  std::string tar = build_tar({tar_symlink("x", "/etc/passwd"), tar_file("x", "plain"),
                               tar_file("d", "file"), tar_dir("d/"), tar_file("d/f", "in dir")});
  extract_tar(tar, t.path());
  REQUIRE(fs::read_file(t.path() + "/x") == "plain");
  REQUIRE(fs::read_file(t.path() + "/d/f") == "in dir");
}

TEST_CASE("the bounded pipe hands bytes over in order", "[unit][oci]") {
  ECSA_REQUIRE_THREADS();
  oci::BytePipe p(64);
  std::string got;
  std::thread reader([&] {
    std::string chunk;
    while (p.pop(chunk) && !chunk.empty()) got += chunk;
  });
  std::string sent;
  for (int i = 0; i < 1000; ++i) {
    std::string s = std::to_string(i) + ",";
    sent += s;
    REQUIRE(p.push(s.data(), s.size()));
  }
  p.close();
  reader.join();
  REQUIRE(got == sent);
}
