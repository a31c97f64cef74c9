// Content digests ("sha256:<hex>", "sha512:<hex>") computed incrementally while blobs stream.
// Own SHA-256/SHA-512 (no crypto library among the allowed dependencies); SHA-256 uses the
// CPU's SHA instructions (x86 SHA-NI, ARMv8 SHA2) when present, a portable version otherwise.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ecsa::oci {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::array<uint8_t, 32> finish();
  std::string hex_finish();

 private:
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

class Sha512 {
 public:
  Sha512();
  void update(const void* data, size_t len);
  std::array<uint8_t, 64> finish();
  std::string hex_finish();

 private:
  uint64_t h_[8];
  uint8_t buf_[128];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // bytes; blobs stay far below 2^61
};

enum class DigestAlgorithm { sha256, sha512 };

struct Digest {
  DigestAlgorithm algorithm = DigestAlgorithm::sha256;
  std::string hex;  // lower-case
  std::string str() const;  // "sha256:<hex>"
};

// Parses and validates "sha256:<64 hex>" / "sha512:<128 hex>". `what` names the field in the
// error, e.g. `manifest layers[0].digest: unsupported digest "md5:..."`.
Digest parse_digest(std::string_view s, const std::string& what);
bool is_digest(std::string_view s);

std::string to_hex(const uint8_t* data, size_t len);

// Either algorithm behind one interface, for blobs whose digest names the algorithm.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm a = DigestAlgorithm::sha256) : algo_(a) {}
  void update(const void* data, size_t len);
  std::string finish();  // "<algo>:<hex>"
  DigestAlgorithm algorithm() const { return algo_; }

 private:
  DigestAlgorithm algo_;
  Sha256 s256_;
  Sha512 s512_;
};

std::string sha256_digest(std::string_view data);  // "sha256:<hex>"

// Checks a stream against an expected digest and size while it flows: more bytes than the
// size fail at once; finish() fails on a short stream or a different digest.
class DigestVerifier {
 public:
  // size < 0: unknown.
  DigestVerifier(const std::string& expected_digest, int64_t expected_size,
                 std::string what = "blob");
  void update(const void* data, size_t len);
  void finish();  // throws Error naming `what`, expected and actual digest / size
  int64_t bytes() const { return bytes_; }
  const std::string& expected() const { return expected_; }

 private:
  std::string expected_;
  int64_t size_;
  std::string what_;
  Hasher hasher_;
  int64_t bytes_ = 0;
};

// Chain IDs of a layer stack (OCI image-spec config.md): chain(0) = diff_id(0),
// chain(n) = sha256(chain(n-1) + " " + diff_id(n)).
std::string chain_id(const std::string& parent_chain_id, const std::string& diff_id);

namespace detail {
// For tests: run the portable SHA-256 even where CPU instructions exist.
void sha256_force_portable(bool on);
bool sha256_accelerated();
}  // namespace detail

}  // namespace ecsa::oci
