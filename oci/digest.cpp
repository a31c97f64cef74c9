#include "oci/digest.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "common/error.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define ECSA_SHA_X86 1
#elif defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>
#define ECSA_SHA_ARM64 1
#endif

namespace ecsa::oci {

namespace {

alignas(16) const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

const uint64_t K512[80] = {
    0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
    0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
    0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
    0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
    0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
    0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
    0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
    0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
    0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
    0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
    0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
    0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
    0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
    0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
    0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
    0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
    0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
    0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
    0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
    0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL};

inline uint32_t rotr32(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }
inline uint32_t load_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
inline uint64_t load_be64(const uint8_t* p) {
  return (uint64_t(load_be32(p)) << 32) | load_be32(p + 4);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24);
  p[1] = uint8_t(v >> 16);
  p[2] = uint8_t(v >> 8);
  p[3] = uint8_t(v);
}
inline void store_be64(uint8_t* p, uint64_t v) {
  store_be32(p, uint32_t(v >> 32));
  store_be32(p + 4, uint32_t(v));
}

void sha256_blocks_portable(uint32_t h[8], const uint8_t* p, size_t blocks) {
  for (; blocks > 0; --blocks, p += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) w[i] = load_be32(p + 4 * i);
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t S1 = rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25);
      uint32_t ch = (e & f) ^ (~e & g);
      uint32_t t1 = hh + S1 + ch + K256[i] + w[i];
      uint32_t S0 = rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22);
      uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
      uint32_t t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}

#if ECSA_SHA_X86
// SHA-NI: state kept as ABEF/CDGH halves as the instructions want them.
__attribute__((target("sha,sse4.1,ssse3"))) void sha256_blocks_shani(uint32_t h[8],
                                                                     const uint8_t* p,
                                                                     size_t blocks) {
  const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h));
  __m128i state1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 4));
  tmp = _mm_shuffle_epi32(tmp, 0xB1);        // CDAB
  state1 = _mm_shuffle_epi32(state1, 0x1B);  // EFGH
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xF0);       // CDGH
  for (; blocks > 0; --blocks, p += 64) {
    const __m128i abef = state0, cdgh = state1;
    __m128i m[4];
    for (int i = 0; i < 4; ++i)
      m[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)),
                              mask);
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      __m128i msg =
          _mm_add_epi32(m[g & 3], _mm_load_si128(reinterpret_cast<const __m128i*>(K256 + 4 * g)));
      state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
      if (g >= 3 && g < 15) {
        __m128i t = _mm_alignr_epi8(m[g & 3], m[(g - 1) & 3], 4);
        m[(g + 1) & 3] = _mm_add_epi32(m[(g + 1) & 3], t);
        m[(g + 1) & 3] = _mm_sha256msg2_epu32(m[(g + 1) & 3], m[g & 3]);
      }
      msg = _mm_shuffle_epi32(msg, 0x0E);
      state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
      if (g >= 1 && g < 13) m[(g - 1) & 3] = _mm_sha256msg1_epu32(m[(g - 1) & 3], m[g & 3]);
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
  }
  tmp = _mm_shuffle_epi32(state0, 0x1B);     // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xB1);  // DCHG
  state0 = _mm_blend_epi16(tmp, state1, 0xF0);  // DCBA
  state1 = _mm_alignr_epi8(state1, tmp, 8);     // HGFE
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), state0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 4), state1);
}

bool cpu_has_sha() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return ssse3 && sse41 && (b & (1u << 29));
}
#endif

#if ECSA_SHA_ARM64
__attribute__((target("+crypto"))) void sha256_blocks_armv8(uint32_t h[8], const uint8_t* p,
                                                           size_t blocks) {
  uint32x4_t state0 = vld1q_u32(h), state1 = vld1q_u32(h + 4);
  for (; blocks > 0; --blocks, p += 64) {
    const uint32x4_t abcd = state0, efgh = state1;
    uint32x4_t m[4];
    for (int i = 0; i < 4; ++i) m[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * i)));
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      uint32x4_t wk = vaddq_u32(m[g & 3], vld1q_u32(K256 + 4 * g));
      if (g < 12) {
        m[g & 3] = vsha256su0q_u32(m[g & 3], m[(g + 1) & 3]);
        m[g & 3] = vsha256su1q_u32(m[g & 3], m[(g + 2) & 3], m[(g + 3) & 3]);
      }
      uint32x4_t prev = state0;
      state0 = vsha256hq_u32(state0, state1, wk);
      state1 = vsha256h2q_u32(state1, prev, wk);
    }
    state0 = vaddq_u32(state0, abcd);
    state1 = vaddq_u32(state1, efgh);
  }
  vst1q_u32(h, state0);
  vst1q_u32(h + 4, state1);
}

bool cpu_has_sha() {
#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1 << 6)
#endif
  return getauxval(AT_HWCAP) & HWCAP_SHA2;
}
#endif

using Blocks256 = void (*)(uint32_t*, const uint8_t*, size_t);

std::atomic<bool> force_portable{false};

Blocks256 pick_sha256() {
#if ECSA_SHA_X86
  if (cpu_has_sha()) return sha256_blocks_shani;
#elif ECSA_SHA_ARM64
  if (cpu_has_sha()) return sha256_blocks_armv8;
#endif
  return sha256_blocks_portable;
}

void sha256_blocks(uint32_t h[8], const uint8_t* p, size_t blocks) {
  static const Blocks256 impl = pick_sha256();
  (force_portable.load(std::memory_order_relaxed) ? sha256_blocks_portable : impl)(h, p, blocks);
}

void sha512_blocks(uint64_t h[8], const uint8_t* p, size_t blocks) {
  for (; blocks > 0; --blocks, p += 128) {
    uint64_t w[80];
    for (int i = 0; i < 16; ++i) w[i] = load_be64(p + 8 * i);
    for (int i = 16; i < 80; ++i) {
      uint64_t s0 = rotr64(w[i - 15], 1) ^ rotr64(w[i - 15], 8) ^ (w[i - 15] >> 7);
      uint64_t s1 = rotr64(w[i - 2], 19) ^ rotr64(w[i - 2], 61) ^ (w[i - 2] >> 6);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint64_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 80; ++i) {
      uint64_t S1 = rotr64(e, 14) ^ rotr64(e, 18) ^ rotr64(e, 41);
      uint64_t ch = (e & f) ^ (~e & g);
      uint64_t t1 = hh + S1 + ch + K512[i] + w[i];
      uint64_t S0 = rotr64(a, 28) ^ rotr64(a, 34) ^ rotr64(a, 39);
      uint64_t maj = (a & b) ^ (a & c) ^ (b & c);
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + S0 + maj;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}

// Shared buffering of the two hashes: fill the partial block, run whole blocks in place.
template <size_t Block, typename Fn>
void absorb(uint8_t* buf, size_t& buf_len, const uint8_t* p, size_t len, Fn blocks) {
  if (buf_len > 0) {
    size_t n = std::min(len, Block - buf_len);
    std::memcpy(buf + buf_len, p, n);
    buf_len += n;
    p += n;
    len -= n;
    if (buf_len < Block) return;
    blocks(buf, 1);
    buf_len = 0;
  }
  if (len >= Block) {
    blocks(p, len / Block);
    p += len / Block * Block;
    len %= Block;
  }
  if (len > 0) {
    std::memcpy(buf, p, len);
    buf_len = len;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not canonical in digests
}

}  // namespace

namespace detail {
void sha256_force_portable(bool on) { force_portable = on; }
bool sha256_accelerated() { return pick_sha256() != sha256_blocks_portable; }
}  // namespace detail

std::string to_hex(const uint8_t* data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

Sha256::Sha256()
    : h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
         0x5be0cd19} {}

void Sha256::update(const void* data, size_t len) {
  total_ += len;
  absorb<64>(buf_, buf_len_, static_cast<const uint8_t*>(data), len,
             [this](const uint8_t* p, size_t n) { sha256_blocks(h_, p, n); });
}

std::array<uint8_t, 32> Sha256::finish() {
  uint64_t bits = total_ * 8;
  uint8_t pad[72] = {0x80};
  size_t pad_len = (buf_len_ < 56 ? 56 - buf_len_ : 120 - buf_len_);
  store_be64(pad + pad_len, bits);
  update(pad, pad_len + 8);
  std::array<uint8_t, 32> out;
  for (int i = 0; i < 8; ++i) store_be32(out.data() + 4 * i, h_[i]);
  return out;
}

std::string Sha256::hex_finish() {
  auto d = finish();
  return to_hex(d.data(), d.size());
}

Sha512::Sha512()
    : h_{0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
         0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
         0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL} {}

void Sha512::update(const void* data, size_t len) {
  total_ += len;
  absorb<128>(buf_, buf_len_, static_cast<const uint8_t*>(data), len,
              [this](const uint8_t* p, size_t n) { sha512_blocks(h_, p, n); });
}

std::array<uint8_t, 64> Sha512::finish() {
  uint8_t pad[144] = {0x80};
  size_t pad_len = (buf_len_ < 112 ? 112 - buf_len_ : 240 - buf_len_);
  // 128-bit length: the high 64 bits are the top bits of total_*8.
  store_be64(pad + pad_len, total_ >> 61);
  store_be64(pad + pad_len + 8, total_ << 3);
  update(pad, pad_len + 16);
  std::array<uint8_t, 64> out;
  for (int i = 0; i < 8; ++i) store_be64(out.data() + 8 * i, h_[i]);
  return out;
}

std::string Sha512::hex_finish() {
  auto d = finish();
  return to_hex(d.data(), d.size());
}

std::string Digest::str() const {
  return (algorithm == DigestAlgorithm::sha256 ? "sha256:" : "sha512:") + hex;
}

Digest parse_digest(std::string_view s, const std::string& what) {
  auto colon = s.find(':');
  std::string shown = "\"" + std::string(s.substr(0, 140)) + "\"";
  if (colon == std::string_view::npos)
    throw Error(what + ": invalid digest " + shown + " (expected <algorithm>:<hex>)");
  std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
  Digest d;
  size_t want;
  if (algo == "sha256") {
    d.algorithm = DigestAlgorithm::sha256;
    want = 64;
  } else if (algo == "sha512") {
    d.algorithm = DigestAlgorithm::sha512;
    want = 128;
  } else {
    throw Error(what + ": unsupported digest algorithm \"" + std::string(algo) +
                "\" (supported: sha256, sha512)");
  }
  if (hex.size() != want)
    throw Error(what + ": invalid digest " + shown + ": " + std::string(algo) + " needs " +
                std::to_string(want) + " hex digits, got " + std::to_string(hex.size()));
  for (char c : hex)
    if (hex_value(c) < 0)
      throw Error(what + ": invalid digest " + shown + ": not lower-case hex");
  d.hex = hex;
  return d;
}

bool is_digest(std::string_view s) {
  try {
    parse_digest(s, "digest");
    return true;
  } catch (const Error&) {
    return false;
  }
}

void Hasher::update(const void* data, size_t len) {
  if (algo_ == DigestAlgorithm::sha256)
    s256_.update(data, len);
  else
    s512_.update(data, len);
}

std::string Hasher::finish() {
  if (algo_ == DigestAlgorithm::sha256) return "sha256:" + s256_.hex_finish();
  return "sha512:" + s512_.hex_finish();
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return "sha256:" + h.hex_finish();
}

DigestVerifier::DigestVerifier(const std::string& expected_digest, int64_t expected_size,
                               std::string what)
    : expected_(expected_digest),
      size_(expected_size),
      what_(std::move(what)),
      hasher_(parse_digest(expected_digest, what_).algorithm) {}

void DigestVerifier::update(const void* data, size_t len) {
  bytes_ += int64_t(len);
  if (size_ >= 0 && bytes_ > size_)
    throw Error(what_ + " " + expected_ + ": more data than the expected size of " +
                std::to_string(size_) + " bytes");
  hasher_.update(data, len);
}

void DigestVerifier::finish() {
  if (size_ >= 0 && bytes_ != size_)
    throw Error(what_ + " " + expected_ + ": size mismatch: expected " + std::to_string(size_) +
                " bytes, got " + std::to_string(bytes_));
  std::string got = hasher_.finish();
  if (got != expected_)
    throw Error(what_ + ": digest mismatch: expected " + expected_ + ", got " + got);
}

std::string chain_id(const std::string& parent_chain_id, const std::string& diff_id) {
  if (parent_chain_id.empty()) return diff_id;
  return sha256_digest(parent_chain_id + " " + diff_id);
}

}  // namespace ecsa::oci
