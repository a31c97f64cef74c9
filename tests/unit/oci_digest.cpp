// SHA-256/512 against published test vectors (FIPS 180-4 examples, NIST CAVS), digest
// parsing, streaming verification and chain IDs.
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <string>

#include "common/error.hpp"
#include "oci/digest.hpp"

using namespace ecsa::oci;

namespace {
std::string sha256_hex(const std::string& s, size_t chunk = 0) {
  Sha256 h;
  if (chunk == 0) chunk = s.size() ? s.size() : 1;
  for (size_t i = 0; i < s.size(); i += chunk) h.update(s.data() + i, std::min(chunk, s.size() - i));
  return h.hex_finish();
}
std::string sha512_hex(const std::string& s, size_t chunk = 0) {
  Sha512 h;
  if (chunk == 0) chunk = s.size() ? s.size() : 1;
  for (size_t i = 0; i < s.size(); i += chunk) h.update(s.data() + i, std::min(chunk, s.size() - i));
  return h.hex_finish();
}
const std::string k448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const std::string k896 =
    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlm"
    "nopqrsmnopqrstnopqrstu";
}  // namespace

TEST_CASE("sha256 known vectors, whole and in odd chunks, both implementations", "[unit][oci]") {
  for (bool portable : {false, true}) {
    detail::sha256_force_portable(portable);
    for (size_t chunk : {0, 1, 3, 63, 64, 65}) {
      CHECK(sha256_hex("", chunk) ==
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
      CHECK(sha256_hex("abc", chunk) ==
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
      CHECK(sha256_hex(k448, chunk) ==
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
      CHECK(sha256_hex(k896, chunk) ==
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    }
    CHECK(sha256_hex(std::string(1000000, 'a'), 4099) ==
          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  detail::sha256_force_portable(false);
}

TEST_CASE("sha256 accelerated and portable agree on every length up to 300", "[unit][oci]") {
  std::mt19937 rng(42);
  std::string data(300, '\0');
  for (auto& c : data) c = char(rng());
  for (size_t n = 0; n <= data.size(); ++n) {
    std::string s = data.substr(0, n);
    detail::sha256_force_portable(true);
    std::string a = sha256_hex(s, 7);
    detail::sha256_force_portable(false);
    REQUIRE(sha256_hex(s) == a);
  }
}

TEST_CASE("sha512 known vectors", "[unit][oci]") {
  for (size_t chunk : {0, 1, 5, 127, 128, 129}) {
    CHECK(sha512_hex("", chunk) ==
          "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d"
          "2877eec2f63b931bd47417a81a538327af927da3e");
    CHECK(sha512_hex("abc", chunk) ==
          "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c2"
          "3a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    CHECK(sha512_hex(k896, chunk) ==
          "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99d"
          "ec4b5433ac7d329eeb6dd26545e96e55b874be909");
  }
  CHECK(sha512_hex(std::string(1000000, 'a'), 8191) ==
        "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432"
        "ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
}

TEST_CASE("digest parsing names the field and the problem", "[unit][oci]") {
  auto d = parse_digest("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                        "x");
  CHECK(d.algorithm == DigestAlgorithm::sha256);
  CHECK(d.str() == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_THROWS_WITH(parse_digest("md5:abc", "layers[0].digest"),
                    Catch::Contains("layers[0].digest: unsupported digest algorithm \"md5\""));
  CHECK_THROWS_WITH(parse_digest("sha256:abc", "f"), Catch::Contains("needs 64 hex digits"));
  CHECK_THROWS_WITH(parse_digest("sha256:" + std::string(64, 'G'), "f"),
                    Catch::Contains("not lower-case hex"));
  CHECK_THROWS_WITH(parse_digest("nocolon", "f"), Catch::Contains("invalid digest"));
  CHECK(is_digest("sha512:" + std::string(128, 'a')));
  CHECK_FALSE(is_digest("sha512:" + std::string(64, 'a')));
}

TEST_CASE("DigestVerifier checks digest and size while streaming", "[unit][oci]") {
  std::string abc_digest = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  {
    DigestVerifier v(abc_digest, 3);
    v.update("ab", 2);
    v.update("c", 1);
    CHECK_NOTHROW(v.finish());
  }
  {
    DigestVerifier v(abc_digest, 3);
    v.update("abd", 3);
    CHECK_THROWS_WITH(v.finish(), Catch::Contains("digest mismatch: expected " + abc_digest));
  }
  {
    DigestVerifier v(abc_digest, 2, "layer");
    CHECK_THROWS_WITH(v.update("abc", 3), Catch::Contains("more data than the expected size"));
  }
  {
    DigestVerifier v(abc_digest, 4);
    v.update("abc", 3);
    CHECK_THROWS_WITH(v.finish(), Catch::Contains("size mismatch: expected 4 bytes, got 3"));
  }
  {
    DigestVerifier v(abc_digest, -1);
    v.update("abc", 3);
    CHECK_NOTHROW(v.finish());
  }
}

TEST_CASE("chain IDs follow the image-spec definition", "[unit][oci]") {
  std::string a = "sha256:" + std::string(64, 'a'), b = "sha256:" + std::string(64, 'b');
  CHECK(chain_id("", a) == a);
  CHECK(chain_id(a, b) == sha256_digest(a + " " + b));
}

TEST_CASE("sha256 throughput is reasonable", "[.bench]") {
  std::string data(64 << 20, 'x');
  for (bool portable : {false, true}) {
    detail::sha256_force_portable(portable);
    auto t0 = std::chrono::steady_clock::now();
    Sha256 h;
    h.update(data.data(), data.size());
    h.finish();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    WARN((portable ? "portable" : "accelerated") << " sha256: " << 64 / s << " MB/s");
  }
  detail::sha256_force_portable(false);
  auto t0 = std::chrono::steady_clock::now();
  Sha512 h;
  h.update(data.data(), data.size());
  h.finish();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  WARN("sha512: " << 64 / s << " MB/s");
}
