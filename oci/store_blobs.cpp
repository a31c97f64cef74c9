// Kept compressed blobs (`pull --keep-blobs`): blobs/<alg>/<hex> in the image store, so a
// later pull that needs the layer again (e.g. the same layer on another parent) extracts it
// from disk instead of downloading it. A blob streams into blobs/<alg>/.tmp-<hex>-<pid>-<n>,
// flock-ed by its writer while it lives (a temporary whose lock is free belongs to a dead
// pull), and is renamed into place after its digest and size were checked and it was synced.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "oci/digest.hpp"
#include "oci/store_impl.hpp"

namespace ecsa::oci {

namespace {

constexpr const char* kBlobTmpPrefix = ".tmp-";

const char* algorithm_dir(DigestAlgorithm a) { return a == DigestAlgorithm::sha512 ? "sha512" : "sha256"; }

class StoreBlobWriter : public BlobWriter {
 public:
  StoreBlobWriter(std::string digest, int64_t size, std::string dir, std::string final_path)
      : dir_(std::move(dir)),
        final_(std::move(final_path)),
        check_(digest, size, "blob " + digest) {
    static std::atomic<unsigned> counter{0};
    tmp_ = dir_ + "/" + kBlobTmpPrefix + fs::basename(final_) + "-" + std::to_string(::getpid()) +
           "-" + std::to_string(counter++);
    fd_ = UniqueFd(::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd_) throw_errno("keep blob: create " + tmp_);
    // Held until the writer is gone: leftover collection skips temporaries still locked.
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::unlink(tmp_.c_str());
      throw_errno("keep blob: lock " + tmp_, err);
    }
  }

  ~StoreBlobWriter() override {
    if (!committed_) ::unlink(tmp_.c_str());
  }

  void write(const void* data, size_t len) override {
    check_.update(data, len);
    const char* p = static_cast<const char*>(data);
    while (len > 0) {
      ssize_t n = ::write(fd_.get(), p, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno("keep blob: write " + tmp_);
      }
      p += n;
      len -= size_t(n);
    }
  }

  void commit() override {
    if (committed_) return;
    check_.finish();
    if (::fsync(fd_.get()) != 0) throw_errno("keep blob: fsync " + tmp_);
    if (::rename(tmp_.c_str(), final_.c_str()) != 0)
      throw_errno("keep blob: rename " + tmp_ + " to " + final_);
    committed_ = true;
    fd_.reset();
    fs::fsync_dir(dir_);
  }

 private:
  std::string dir_, final_, tmp_;
  DigestVerifier check_;
  UniqueFd fd_;
  bool committed_ = false;
};

}  // namespace

std::string StoreImpl::blob_file(const std::string& digest) const {
  Digest d = parse_digest(digest, "blob digest");
  return root_ + "/blobs/" + algorithm_dir(d.algorithm) + "/" + d.hex;
}

std::optional<std::string> StoreImpl::find_blob(const std::string& digest) {
  std::string p = blob_file(digest);
  struct stat st;
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return p;
}

std::unique_ptr<BlobWriter> StoreImpl::begin_blob(const std::string& digest, int64_t size) {
  std::string final_path = blob_file(digest);
  std::string dir = fs::dirname(final_path);
  fs::mkdir_p(dir, 0700);
  return std::make_unique<StoreBlobWriter>(digest, size, dir, final_path);
}

void StoreImpl::remove_blob(const std::string& digest) {
  std::string p = blob_file(digest);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_errno("remove blob " + p);
}

int64_t StoreImpl::collect_blob_leftovers() {
  int64_t freed = 0;
  for (const char* alg : {"sha256", "sha512"}) {
    std::string dir = root_ + "/blobs/" + alg;
    if (!fs::exists(dir)) continue;
    for (const auto& n : fs::list_dir(dir)) {
      if (n.rfind(kBlobTmpPrefix, 0) != 0) continue;
      std::string p = dir + "/" + n;
      UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) continue;  // renamed or removed meanwhile
      if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its writer is alive
      struct stat st;
      if (::fstat(fd.get(), &st) == 0) freed += st.st_size;
      ::unlink(p.c_str());
      log::debug("removed leftover " + p);
    }
  }
  return freed;
}

int64_t StoreImpl::prune_blobs() {
  std::set<std::string> used;
  for (auto& e : read_images())
    for (const auto& l : e.second.layers) used.insert(l.digest);
  int64_t freed = 0;
  for (const char* alg : {"sha256", "sha512"}) {
    std::string dir = root_ + "/blobs/" + alg;
    if (!fs::exists(dir)) continue;
    for (const auto& n : fs::list_dir(dir)) {
      if (n.rfind(kBlobTmpPrefix, 0) == 0 || used.count(std::string(alg) + ":" + n)) continue;
      std::string p = dir + "/" + n;
      struct stat st;
      if (::lstat(p.c_str(), &st) == 0) freed += st.st_size;
      if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_errno("prune: remove blob " + p);
    }
    fs::fsync_dir(dir);
  }
  return freed;
}

}  // namespace ecsa::oci
