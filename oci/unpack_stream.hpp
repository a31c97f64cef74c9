// One-pass layer unpacking: compressed bytes pushed by the registry client are handed to a
// worker thread through a small bounded buffer; the worker decompresses them with
// libarchive's filters, hashes the uncompressed tar stream (for diff_id) and extracts it
// entry by entry. Memory stays bounded whatever the layer size: nothing buffers a layer.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace ecsa::oci {

enum class Compression { none, gzip, zstd };

// From a layer media type (OCI tar, tar+gzip, tar+zstd, Docker rootfs.diff.tar.gzip and
// their non-distributable forms). Throws Error naming an unsupported one.
Compression compression_for_media_type(const std::string& media_type);

// A bounded single-producer single-consumer byte pipe between two threads.
class BytePipe {
 public:
  explicit BytePipe(size_t capacity) : capacity_(capacity) {}
  // Blocks while the pipe is full. Returns false if the reader has stopped (its data is
  // then dropped).
  bool push(const void* data, size_t len);
  // End of data (writer side).
  void close();
  // Reader side: the next chunk, blocking; empty string at end of data. Returns false when
  // cancelled.
  bool pop(std::string& chunk);
  // Reader side: no more reading; unblocks and discards further pushes.
  void stop_reading();
  // Writer side: the reader must give up (pop returns false).
  void cancel();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  size_t buffered_ = 0;
  size_t capacity_;
  bool closed_ = false;
  bool reader_stopped_ = false;
  bool cancelled_ = false;
};

struct UnpackResult {
  int64_t tar_bytes = 0;      // uncompressed stream length
  int64_t content_bytes = 0;  // regular file content written
};

class StreamingUnpacker {
 public:
  using TarBytesFn = std::function<void(const void*, size_t)>;
  // Extracts into the existing empty directory `dir`. `on_tar_bytes` sees every
  // uncompressed byte, in order (from the worker thread). `label` prefixes errors.
  StreamingUnpacker(const std::string& dir, std::string label, Compression c,
                    TarBytesFn on_tar_bytes);
  // Cancels an unfinished extraction and waits for the worker.
  ~StreamingUnpacker();
  StreamingUnpacker(const StreamingUnpacker&) = delete;
  StreamingUnpacker& operator=(const StreamingUnpacker&) = delete;

  // Throws the worker's error as soon as it is known.
  void write(const void* data, size_t len);
  // End of the compressed stream: waits until everything is extracted; throws the error.
  UnpackResult finish();

 private:
  void run();
  void rethrow_worker_error();

  std::string dir_;
  std::string label_;
  Compression compression_;
  TarBytesFn on_tar_bytes_;
  BytePipe pipe_;
  std::thread worker_;
  std::mutex err_mu_;
  std::string error_;  // set by the worker
  bool failed_ = false;
  bool finished_ = false;
  UnpackResult result_;
};

}  // namespace ecsa::oci
