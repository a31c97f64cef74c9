#include "oci/unpack_stream.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "common/error.hpp"
#include "oci/layer_extract.hpp"

namespace ecsa::oci {

namespace {
// Compressed bytes in flight between the registry client and the worker.
constexpr size_t kPipeCapacity = 1 << 20;
constexpr size_t kMaxChunk = 128 << 10;
// Uncompressed bytes handed from the decompressor to the tar reader at a time.
constexpr size_t kTarBlock = 64 << 10;
}  // namespace

Compression compression_for_media_type(const std::string& mt) {
  static const char* const kTar[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
  };
  for (const char* t : kTar) {
    std::string s(t);
    if (mt == s) return Compression::none;
    if (mt == s + "+gzip") return Compression::gzip;
    if (mt == s + "+zstd") return Compression::zstd;
  }
  if (mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
      mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip")
    return Compression::gzip;
  throw Error("unsupported layer media type \"" + mt + "\"");
}

// ---- BytePipe ----

bool BytePipe::push(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  std::unique_lock<std::mutex> lk(mu_);
  while (len > 0) {
    cv_.wait(lk, [&] { return reader_stopped_ || buffered_ < capacity_; });
    if (reader_stopped_) return false;
    size_t n = std::min({len, kMaxChunk, capacity_ - buffered_});
    chunks_.emplace_back(p, n);
    buffered_ += n;
    p += n;
    len -= n;
    cv_.notify_all();
  }
  return true;
}

void BytePipe::close() {
  std::lock_guard<std::mutex> lk(mu_);
  closed_ = true;
  cv_.notify_all();
}

void BytePipe::cancel() {
  std::lock_guard<std::mutex> lk(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

void BytePipe::stop_reading() {
  std::lock_guard<std::mutex> lk(mu_);
  reader_stopped_ = true;
  chunks_.clear();
  buffered_ = 0;
  cv_.notify_all();
}

bool BytePipe::pop(std::string& chunk) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return cancelled_ || closed_ || !chunks_.empty(); });
  if (cancelled_) return false;
  chunk.clear();
  if (chunks_.empty()) return true;  // closed: end of data
  chunk.swap(chunks_.front());
  chunks_.pop_front();
  buffered_ -= chunk.size();
  cv_.notify_all();
  return true;
}

// ---- StreamingUnpacker ----

namespace {

struct CompressedSource {
  BytePipe* pipe;
  std::string chunk;
};

la_ssize_t read_compressed(struct archive* a, void* ud, const void** buf) {
  auto* src = static_cast<CompressedSource*>(ud);
  if (!src->pipe->pop(src->chunk)) {
    archive_set_error(a, ECANCELED, "layer download cancelled");
    return -1;
  }
  *buf = src->chunk.data();
  return static_cast<la_ssize_t>(src->chunk.size());
}

struct TarSource {
  struct archive* raw;
  const StreamingUnpacker::TarBytesFn* on_bytes;
  std::vector<char> buf;
  int64_t bytes = 0;
};

la_ssize_t read_uncompressed(struct archive* a, void* ud, const void** buf) {
  auto* src = static_cast<TarSource*>(ud);
  la_ssize_t n = archive_read_data(src->raw, src->buf.data(), src->buf.size());
  if (n < 0) {
    const char* msg = archive_error_string(src->raw);
    archive_set_error(a, archive_errno(src->raw), "decompress: %s", msg ? msg : "error");
    return -1;
  }
  if (n > 0 && *src->on_bytes) (*src->on_bytes)(src->buf.data(), static_cast<size_t>(n));
  src->bytes += n;
  *buf = src->buf.data();
  return n;
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;

std::string archive_message(struct archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unknown error";
}

}  // namespace

StreamingUnpacker::StreamingUnpacker(const std::string& dir, std::string label, Compression c,
                                     TarBytesFn on_tar_bytes)
    : dir_(dir),
      label_(std::move(label)),
      compression_(c),
      on_tar_bytes_(std::move(on_tar_bytes)),
      pipe_(kPipeCapacity) {
  worker_ = std::thread([this] { run(); });
}

StreamingUnpacker::~StreamingUnpacker() {
  if (worker_.joinable()) {
    pipe_.cancel();
    worker_.join();
  }
}

void StreamingUnpacker::run() {
  try {
    CompressedSource csrc{&pipe_, {}};
    ArchivePtr raw(archive_read_new());
    if (!raw) throw Error(label_ + ": archive_read_new failed");
    int rc = ARCHIVE_OK;
    if (compression_ == Compression::gzip) rc = archive_read_append_filter(raw.get(), ARCHIVE_FILTER_GZIP);
    if (compression_ == Compression::zstd) rc = archive_read_append_filter(raw.get(), ARCHIVE_FILTER_ZSTD);
    if (rc != ARCHIVE_OK) throw Error(label_ + ": decompressor: " + archive_message(raw.get()));
    archive_read_support_format_raw(raw.get());
    if (archive_read_open(raw.get(), &csrc, nullptr, read_compressed, nullptr) != ARCHIVE_OK)
      throw Error(label_ + ": open stream: " + archive_message(raw.get()));
    archive_entry* e;
    rc = archive_read_next_header(raw.get(), &e);
    if (rc != ARCHIVE_OK) throw Error(label_ + ": read stream: " + archive_message(raw.get()));

    TarSource tsrc{raw.get(), &on_tar_bytes_, std::vector<char>(kTarBlock)};
    ArchivePtr tar(archive_read_new());
    if (!tar) throw Error(label_ + ": archive_read_new failed");
    archive_read_support_format_tar(tar.get());
    if (archive_read_open(tar.get(), &tsrc, nullptr, read_uncompressed, nullptr) != ARCHIVE_OK)
      throw Error(label_ + ": open tar: " + archive_message(tar.get()));

    LayerExtractor ex(dir_, label_);
    ex.extract(tar.get());
    ex.finish();
    // The digest covers the whole stream, also what follows the tar's end blocks.
    for (;;) {
      const void* ignored;
      la_ssize_t n = read_uncompressed(tar.get(), &tsrc, &ignored);
      if (n < 0) throw Error(label_ + ": " + archive_message(tar.get()));
      if (n == 0) break;
    }
    result_.tar_bytes = tsrc.bytes;
    result_.content_bytes = ex.content_bytes();
  } catch (const std::exception& ex) {
    std::lock_guard<std::mutex> lk(err_mu_);
    error_ = ex.what();
    failed_ = true;
  }
  pipe_.stop_reading();
}

void StreamingUnpacker::rethrow_worker_error() {
  std::lock_guard<std::mutex> lk(err_mu_);
  if (failed_) throw Error(error_);
}

void StreamingUnpacker::write(const void* data, size_t len) {
  if (finished_) throw Error(label_ + ": write after end of layer");
  rethrow_worker_error();
  if (!pipe_.push(data, len)) rethrow_worker_error();
}

UnpackResult StreamingUnpacker::finish() {
  if (!finished_) {
    finished_ = true;
    pipe_.close();
    if (worker_.joinable()) worker_.join();
  }
  rethrow_worker_error();
  return result_;
}

}  // namespace ecsa::oci
