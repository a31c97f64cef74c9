// The image store on disk. Layout below the root ($ECSA_STATE_DIR or /var/lib/ecsa):
//
//   layers/<chain>/diff/        a layer's files, in overlayfs form (whiteouts as 0:0 char
//                               devices, opaque dirs as trusted.overlay.opaque=y)
//   layers/<chain>/meta.json    written inside the temporary dir before the rename, so a
//                               layer dir that exists is complete
//   layers/.tmp-<chain>-<pid>-<n>/   a layer being extracted (leftover after a crash)
//   images/<config-hex>.json    image records, written last with write_file_atomic
//   blobs/sha256/<hex>          compressed layer blobs kept by `pull --keep-blobs`
//   blobs/sha256/.tmp-<hex>-<pid>-<n>   a blob being written (store_blobs.cpp)
//   containers/<id>/layers.json the chain IDs a container's rootfs uses (keeps them alive)
//   containers/<id>/{upper,work,merged}   overlay rootfs, or
//   containers/<id>/rootfs      the flattened copy (ECSA_NO_OVERLAY=1 or no overlayfs)
//   locks/<chain>.lock          flock: one extraction per layer at a time
//   locks/store.lock            flock: pulls and rootfs setup share it, prune takes it alone
//   locks/images.lock           flock: read-modify-write of image records
//
// <chain> is the hex of a sha256 chain ID ("sha512-<hex>" for other algorithms).
#include "oci/image_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <set>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_node.hpp"
#include "common/log.hpp"
#include "oci/digest.hpp"
#include "oci/file_lock.hpp"
#include "oci/store_impl.hpp"
#include "oci/reference.hpp"
#include "oci/rootfs_flatten.hpp"
#include "oci/rootfs_overlay.hpp"
#include "oci/store_records.hpp"
#include "oci/unpack_stream.hpp"

namespace ecsa::oci {

namespace {

constexpr const char* kTmpPrefix = ".tmp-";

std::string short_digest(const std::string& d) {
  auto colon = d.find(':');
  std::string hex = colon == std::string::npos ? d : d.substr(colon + 1);
  return d.substr(0, colon == std::string::npos ? 0 : colon + 1) + hex.substr(0, 12);
}

// Sum of regular file sizes below `path` (hard links counted once).
int64_t tree_bytes(const std::string& path) {
  int64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<std::string> stack{path};
  while (!stack.empty()) {
    std::string dir = stack.back();
    stack.pop_back();
    for (const auto& n : fs::list_dir(dir)) {
      std::string p = dir + "/" + n;
      struct stat st;
      if (::lstat(p.c_str(), &st) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        stack.push_back(p);
      } else if (S_ISREG(st.st_mode) && seen.insert({st.st_dev, st.st_ino}).second) {
        total += st.st_size;
      }
    }
  }
  return total;
}

void validate_container_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos ||
      id.size() > 128)
    throw Error("container id \"" + id + "\": must be 1-128 characters without '/'");
}

bool pid_alive(const std::string& s) {
  char* end = nullptr;
  long pid = std::strtol(s.c_str(), &end, 10);
  if (!end || *end != '\0' || pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

// ---- LayerWriter ----

class StoreLayerWriter : public LayerWriter {
 public:
  StoreLayerWriter(StoreImpl& store, const LayerInfo& info, std::string parent, FileLock lock,
                   std::string tmp_dir)
      : store_(store),
        info_(info),
        parent_(std::move(parent)),
        lock_(std::move(lock)),
        tmp_dir_(std::move(tmp_dir)),
        diff_check_(info.diff_id, -1, "layer " + short_digest(info.digest) + " uncompressed content (diff_id)") {
    Compression c = compression_for_media_type(info.media_type);
    unpacker_ = std::make_unique<StreamingUnpacker>(
        tmp_dir_ + "/diff", "layer " + short_digest(info.digest), c,
        [this](const void* p, size_t n) { diff_check_.update(p, n); });
  }

  ~StoreLayerWriter() override {
    if (!committed_) {
      unpacker_.reset();  // cancels and joins the worker
      try {
        fs::remove_all(tmp_dir_);
      } catch (const std::exception& e) {
        log::warn(std::string("discard unfinished layer: ") + e.what());
      }
    }
    store_.writer_done();
  }

  void write(const void* data, size_t len) override {
    if (committed_) throw Error("layer " + info_.digest + ": write after commit");
    unpacker_->write(data, len);
  }

  void commit() override {
    if (committed_) return;
    UnpackResult res = unpacker_->finish();
    diff_check_.finish();
    LayerMeta m;
    m.chain_id = info_.chain_id;
    m.parent_chain_id = parent_;
    m.diff_id = info_.diff_id;
    m.digest = info_.digest;
    m.media_type = info_.media_type;
    m.content_bytes = res.content_bytes;
    m.tar_bytes = res.tar_bytes;
    m.created_unix = ::time(nullptr);
    std::string what = "commit layer " + short_digest(info_.digest);
    fs::write_file_atomic(tmp_dir_ + "/meta.json", layer_meta_to_json(m));
    // Everything extracted must be on disk before the layer becomes visible.
    UniqueFd fd(::open(tmp_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno(what + ": open " + tmp_dir_);
    if (::syncfs(fd.get()) != 0) throw_errno(what + ": syncfs " + tmp_dir_);
    std::string final_dir = store_.layer_dir(info_.chain_id);
    if (::rename(tmp_dir_.c_str(), final_dir.c_str()) != 0)
      throw_errno(what + ": rename " + tmp_dir_ + " to " + final_dir);
    committed_ = true;
    fs::fsync_dir(fs::dirname(final_dir));
    lock_.release();
  }

 private:
  StoreImpl& store_;
  LayerInfo info_;
  std::string parent_;
  FileLock lock_;
  std::string tmp_dir_;
  DigestVerifier diff_check_;
  std::unique_ptr<StreamingUnpacker> unpacker_;
  bool committed_ = false;
};

// ---- StoreImpl ----

StoreImpl::StoreImpl(std::string root) : root_(std::move(root)) {
  for (const char* d : {"layers", "images", "containers", "locks"}) fs::mkdir_p(root_ + "/" + d, 0700);
}

std::string StoreImpl::layer_dir(const std::string& chain_id) const {
  return root_ + "/layers/" + digest_dir_name(chain_id, "layer chain ID");
}

std::string StoreImpl::image_file(const std::string& config_digest) const {
  return root_ + "/images/" + digest_dir_name(config_digest, "image config digest") + ".json";
}

std::string StoreImpl::lock_path(const std::string& name) const {
  return root_ + "/locks/" + name + ".lock";
}

bool StoreImpl::has_layer(const std::string& chain_id) {
  return fs::exists(layer_dir(chain_id) + "/meta.json");
}

std::optional<LayerMeta> StoreImpl::layer_meta(const std::string& chain_id) {
  std::string p = layer_dir(chain_id) + "/meta.json";
  auto text = fs::read_file_if_exists(p);
  if (!text) return std::nullopt;
  return layer_meta_from_json(*text, p);
}

void StoreImpl::hold_store_lock_shared() {
  if (!store_lock_.locked())
    store_lock_ = FileLock::acquire(lock_path("store"), FileLock::Mode::shared);
}

void StoreImpl::writer_done() {
  std::lock_guard<std::mutex> lk(mu_);
  --active_writers_;
}

int64_t StoreImpl::collect_leftovers() {
  int64_t freed = 0;
  std::string layers = root_ + "/layers";
  for (const auto& n : fs::list_dir(layers)) {
    if (n.rfind(kTmpPrefix, 0) != 0) continue;
    std::string rest = n.substr(std::strlen(kTmpPrefix));
    std::string chain = rest.substr(0, rest.find('-'));
    if (chain == "sha512") chain = rest.substr(0, rest.find('-', 7));
    // A temporary dir whose layer lock is free belongs to a pull that died.
    FileLock l = FileLock::try_acquire(lock_path(chain));
    if (!l.locked()) continue;
    std::string p = layers + "/" + n;
    freed += tree_bytes(p);
    fs::remove_all(p);
    log::debug("removed leftover " + p);
  }
  // Temporaries of write_file_atomic ("<file>.tmp.<pid>") whose writer is gone.
  for (const char* sub : {"images", "layers"}) {
    std::string dir = root_ + "/" + sub;
    for (const auto& n : fs::list_dir(dir)) {
      auto pos = n.rfind(".tmp.");
      if (pos == std::string::npos || n.rfind(kTmpPrefix, 0) == 0) continue;
      if (pid_alive(n.substr(pos + 5))) continue;
      ::unlink((dir + "/" + n).c_str());
    }
  }
  freed += collect_blob_leftovers();
  return freed;
}

std::unique_ptr<LayerWriter> StoreImpl::begin_layer(const LayerInfo& layer,
                                                   const std::string& parent_chain_id) {
  std::string what = "layer " + short_digest(layer.digest);
  parse_digest(layer.diff_id, what + " diff_id");
  std::string expected_chain = chain_id(parent_chain_id, layer.diff_id);
  if (layer.chain_id != expected_chain)
    throw Error(what + ": chain ID " + layer.chain_id + " does not match parent and diff_id (" +
                expected_chain + ")");
  compression_for_media_type(layer.media_type);  // reject unknown media types up front
  {
    std::lock_guard<std::mutex> lk(mu_);
    hold_store_lock_shared();
    if (!leftovers_collected_) {
      collect_leftovers();
      leftovers_collected_ = true;
    }
  }
  if (has_layer(layer.chain_id)) return nullptr;
  std::string name = digest_dir_name(layer.chain_id, "layer chain ID");
  FileLock lock = FileLock::acquire(lock_path(name));
  if (has_layer(layer.chain_id)) return nullptr;  // another pull finished it meanwhile
  // We hold the layer lock: any temporary dir of this layer is from a dead pull.
  std::string layers = root_ + "/layers";
  for (const auto& n : fs::list_dir(layers))
    if (n.rfind(kTmpPrefix + name + "-", 0) == 0) fs::remove_all(layers + "/" + n);
  static std::atomic<unsigned> counter{0};
  std::string tmp = layers + "/" + kTmpPrefix + name + "-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++);
  if (::mkdir(tmp.c_str(), 0700) != 0) throw_errno(what + ": mkdir " + tmp);
  try {
    if (::mkdir((tmp + "/diff").c_str(), 0755) != 0) throw_errno(what + ": mkdir " + tmp + "/diff");
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++active_writers_;  // the writer's destructor counts it back, also on failure
  }
  try {
    return std::make_unique<StoreLayerWriter>(*this, layer, parent_chain_id, std::move(lock), tmp);
  } catch (...) {
    writer_done();
    fs::remove_all(tmp);
    throw;
  }
}

std::vector<std::pair<std::string, ImageRecord>> StoreImpl::read_images() {
  std::vector<std::pair<std::string, ImageRecord>> out;
  std::string dir = root_ + "/images";
  auto names = fs::list_dir(dir);
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n.size() < 6 || n.compare(n.size() - 5, 5, ".json") != 0) continue;
    std::string p = dir + "/" + n;
    try {
      auto text = fs::read_file_if_exists(p);
      if (text) out.emplace_back(p, image_record_from_json(*text, p));
    } catch (const std::exception& e) {
      log::warn(std::string("skipping image record: ") + e.what());
    }
  }
  return out;
}

void StoreImpl::commit_image(const ImageRecord& image_in) {
  ImageRecord image = image_in;
  std::string what = "commit image " + short_digest(image.config_digest);
  std::string file = image_file(image.config_digest);
  int64_t size = 0;
  for (const auto& l : image.layers) {
    auto m = layer_meta(l.chain_id);
    if (!m) throw Error(what + ": layer " + l.chain_id + " is not in the store");
    size += m->content_bytes;
  }
  if (image.size == 0) image.size = size;
  if (image.created_unix == 0) image.created_unix = ::time(nullptr);

  FileLock images_lock = FileLock::acquire(lock_path("images"));
  // A name points at one image: take it from any other image that had it.
  for (auto& [path, other] : read_images()) {
    if (path == file) {
      for (const auto& n : other.names)
        if (std::find(image.names.begin(), image.names.end(), n) == image.names.end())
          image.names.push_back(n);
      continue;
    }
    auto before = other.names.size();
    std::erase_if(other.names, [&](const std::string& n) {
      return std::find(image.names.begin(), image.names.end(), n) != image.names.end();
    });
    if (other.names.size() != before) fs::write_file_atomic(path, image_record_to_json(other), 0600);
  }
  fs::write_file_atomic(file, image_record_to_json(image), 0600);
  // The pull is complete: prune may run, unless layers of another pull are in flight.
  std::lock_guard<std::mutex> lk(mu_);
  if (active_writers_ == 0) store_lock_.release();
}

std::optional<std::pair<std::string, ImageRecord>> StoreImpl::lookup(const std::string& ref) {
  auto images = read_images();
  // Exact name, normalised name, repo digest.
  std::string normal;
  try {
    normal = parse_reference(ref).str();
  } catch (const std::exception&) {
  }
  for (auto& entry : images) {
    const auto& r = entry.second;
    for (const auto& n : r.names)
      if (n == ref || (!normal.empty() && n == normal)) return entry;
    if (r.repo_digest == ref || (!normal.empty() && r.repo_digest == normal)) return entry;
  }
  // Image ID, with or without "sha256:", or a unique prefix of at least 4 hex digits.
  std::string id = ref.rfind("sha256:", 0) == 0 ? ref.substr(7) : ref;
  if (id.size() >= 4 && id.find_first_not_of("0123456789abcdef") == std::string::npos) {
    std::optional<std::pair<std::string, ImageRecord>> found;
    for (auto& entry : images) {
      std::string hex = entry.second.config_digest.substr(entry.second.config_digest.find(':') + 1);
      if (hex.rfind(id, 0) == 0) {
        if (found) throw Error("image ID prefix \"" + ref + "\" matches more than one image");
        found = entry;
      }
    }
    return found;
  }
  return std::nullopt;
}

std::optional<ImageRecord> StoreImpl::find_image(const std::string& ref_or_id) {
  auto e = lookup(ref_or_id);
  if (!e) return std::nullopt;
  return e->second;
}

std::vector<ImageRecord> StoreImpl::list_images() {
  std::vector<ImageRecord> out;
  for (auto& e : read_images()) out.push_back(std::move(e.second));
  return out;
}

std::vector<std::string> StoreImpl::remove_image_reporting(const std::string& ref_or_id) {
  FileLock images_lock = FileLock::acquire(lock_path("images"));
  auto e = lookup(ref_or_id);
  if (!e) throw Error("remove image " + ref_or_id + ": no such image");
  auto& [path, rec] = *e;
  std::vector<std::string> report;
  // By name with other names left: untag only (as docker rmi does).
  auto it = std::find_if(rec.names.begin(), rec.names.end(), [&](const std::string& n) {
    std::string normal;
    try {
      normal = parse_reference(ref_or_id).str();
    } catch (const std::exception&) {
    }
    return n == ref_or_id || n == normal;
  });
  if (it != rec.names.end()) {
    report.push_back("Untagged: " + *it);
    rec.names.erase(it);
    if (!rec.names.empty()) {
      fs::write_file_atomic(path, image_record_to_json(rec), 0600);
      return report;
    }
  } else {
    for (const auto& n : rec.names) report.push_back("Untagged: " + n);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("remove image record " + path);
  fs::fsync_dir(fs::dirname(path));
  report.push_back("Deleted: " + rec.config_digest);
  return report;
}

void StoreImpl::remove_image(const std::string& ref_or_id) { remove_image_reporting(ref_or_id); }

std::set<std::string> StoreImpl::referenced_layers() {
  std::set<std::string> used;
  for (auto& e : read_images())
    for (const auto& l : e.second.layers) used.insert(digest_dir_name(l.chain_id, "layer chain ID"));
  std::string cdir = root_ + "/containers";
  for (const auto& c : fs::list_dir(cdir)) {
    std::string p = cdir + "/" + c + "/layers.json";
    try {
      auto text = fs::read_file_if_exists(p);
      if (!text) continue;
      auto doc = json::parse(*text, p);
      for (const auto& s : json::Node(doc, p).strings()) used.insert(digest_dir_name(s, p));
    } catch (const std::exception& ex) {
      log::warn(std::string("prune: ") + ex.what());
    }
  }
  return used;
}

int64_t StoreImpl::prune() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (active_writers_ > 0) throw Error("prune: layers are being pulled by this process");
    store_lock_.release();  // our own shared hold would block us
  }
  FileLock excl = FileLock::acquire(lock_path("store"), FileLock::Mode::exclusive);
  int64_t freed = collect_leftovers();
  std::set<std::string> used = referenced_layers();
  std::string layers = root_ + "/layers";
  for (const auto& n : fs::list_dir(layers)) {
    if (n.rfind(kTmpPrefix, 0) == 0 || used.count(n)) continue;
    std::string p = layers + "/" + n;
    if (!fs::is_dir(p)) continue;
    FileLock l = FileLock::try_acquire(lock_path(n));
    if (!l.locked()) continue;
    // Rename first: a half-removed layer must never look complete.
    std::string doomed = layers + "/" + kTmpPrefix + n + "-prune-" + std::to_string(::getpid());
    if (::rename(p.c_str(), doomed.c_str()) != 0) throw_errno("prune: rename " + p);
    freed += tree_bytes(doomed);
    fs::remove_all(doomed);
    ::unlink(lock_path(n).c_str());
  }
  fs::fsync_dir(layers);
  freed += prune_blobs();
  return freed;
}

int StoreImpl::remove_dangling_images() {
  FileLock images_lock = FileLock::acquire(lock_path("images"));
  int n = 0;
  for (auto& [path, rec] : read_images()) {
    if (!rec.names.empty()) continue;
    if (::unlink(path.c_str()) == 0) ++n;
  }
  return n;
}

std::string StoreImpl::container_dir(const std::string& id) const {
  validate_container_id(id);
  return root_ + "/containers/" + id;
}

std::string StoreImpl::prepare_rootfs(const std::string& container_id, const ImageRecord& image) {
  std::string dir = container_dir(container_id);
  std::string what = "prepare rootfs of container " + container_id;
  FileLock shared = FileLock::acquire(lock_path("store"), FileLock::Mode::shared);
  std::vector<std::string> chains;
  for (const auto& l : image.layers) {
    if (!has_layer(l.chain_id)) throw Error(what + ": layer " + l.chain_id + " is not in the store");
    chains.push_back(l.chain_id);
  }
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) throw Error(what + ": " + dir + " already exists");
    throw_errno(what + ": mkdir " + dir);
  }
  try {
    // Record the layers before using them, so prune keeps them.
    fs::write_file_atomic(dir + "/layers.json", json::Json(chains).dump() + "\n", 0600);
    if (overlay_wanted()) {
      std::vector<std::string> lowers;
      for (auto it = image.layers.rbegin(); it != image.layers.rend(); ++it) {
        lowers.push_back(layer_dir(it->chain_id) + "/diff");
        // overlayfs ignores opaqueness of a layer's root: leave out what it hides instead.
        char v[2];
        if (::getxattr(lowers.back().c_str(), "trusted.overlay.opaque", v, sizeof v) == 1 &&
            v[0] == 'y')
          break;
      }
      if (lowers.empty()) {
        fs::mkdir_p(dir + "/empty", 0755);
        lowers.push_back(dir + "/empty");
      }
      for (const char* d : {"upper", "work", "merged"}) fs::mkdir_p(dir + "/" + d, 0755);
      mount_overlay(lowers, dir + "/upper", dir + "/work", dir + "/merged");
      fs::write_file_atomic(dir + "/rootfs.json", R"({"kind":"overlay"})" "\n", 0600);
      return dir + "/merged";
    }
    std::string rootfs = dir + "/rootfs";
    fs::mkdir_p(rootfs, 0755);
    for (const auto& l : image.layers) flatten_layer_onto(layer_dir(l.chain_id) + "/diff", rootfs);
    fs::write_file_atomic(dir + "/rootfs.json", R"({"kind":"copy"})" "\n", 0600);
    return rootfs;
  } catch (...) {
    unmount_overlay(dir + "/merged");
    try {
      fs::remove_all(dir);
    } catch (const std::exception& e) {
      log::warn(what + ": cleanup: " + e.what());
    }
    throw;
  }
}

void StoreImpl::release_rootfs(const std::string& container_id) {
  std::string dir = container_dir(container_id);
  if (!fs::exists(dir)) return;
  if (fs::exists(dir + "/merged")) unmount_overlay(dir + "/merged");
  fs::remove_all(dir);
}

std::string default_store_root() {
  const char* env = std::getenv("ECSA_STATE_DIR");
  return env && *env ? env : "/var/lib/ecsa";
}

std::unique_ptr<ImageStore> ImageStore::open(const std::string& root) {
  return std::make_unique<StoreImpl>(root.empty() ? default_store_root() : root);
}

}  // namespace ecsa::oci
