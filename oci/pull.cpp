#include "oci/pull.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/json_node.hpp"
#include "common/log.hpp"
#include "oci/digest.hpp"
#include "oci/ecr_auth.hpp"
#include "oci/reference.hpp"
#include "oci/registry_client.hpp"

namespace ecsa::oci {

namespace {

struct ImageConfigInfo {
  std::vector<std::string> diff_ids;
  Platform platform;
};

ImageConfigInfo parse_config(const std::string& text, const std::string& what) {
  json::Json doc = json::parse(text, what);
  json::Node root(doc, what);
  ImageConfigInfo info;
  json::Node rootfs = root.at("rootfs");
  std::string type = rootfs.str_or("type", "layers");
  if (type != "layers") rootfs.at("type").fail("expected \"layers\", got \"" + type + "\"");
  for (const auto& d : rootfs.at("diff_ids").items())
    info.diff_ids.push_back(parse_digest(d.str(), d.path()).str());
  info.platform = normalize_platform(
      {root.str_or("os", "linux"), root.str_or("architecture", ""), root.str_or("variant", "")});
  return info;
}

class ParallelError {
 public:
  void set(std::exception_ptr e) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!first_) first_ = e;
    failed_ = true;
  }
  bool failed() const { return failed_; }
  void rethrow() {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::mutex mu_;
  std::exception_ptr first_;
  std::atomic<bool> failed_{false};
};

// Feeds a kept blob to a layer writer, verifying its digest and size as it goes; throws
// (before the caller commits) if the file no longer matches.
void extract_kept_blob(const std::string& path, const Descriptor& d, LayerWriter& w,
                       const std::function<void(int64_t)>& on_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open kept blob " + path);
  DigestVerifier check(d.digest, d.size, "kept blob " + path);
  std::vector<char> buf(128 << 10);
  int64_t done = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read kept blob " + path);
    }
    if (n == 0) break;
    check.update(buf.data(), size_t(n));
    w.write(buf.data(), size_t(n));
    done += n;
    on_bytes(done);
  }
  check.finish();
}

// Whether a kept blob still has its digest and size (after a failure, to tell whose it was).
bool kept_blob_intact(const std::string& path, const Descriptor& d) {
  try {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    DigestVerifier check(d.digest, d.size, "kept blob " + path);
    std::vector<char> buf(128 << 10);
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) break;
      check.update(buf.data(), size_t(n));
    }
    check.finish();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

Credentials resolve_credentials(const std::string& domain, const PullOptions& opts) {
  if (opts.credentials) return *opts.credentials;
  if (auto c = docker_config_credentials(domain)) return *c;
  if (auto ecr = parse_ecr_host(domain)) {
    EcrOptions eo;
    eo.endpoint = opts.ecr_endpoint;
    return ecr_credentials(*ecr, eo);
  }
  return {};
}

ImageRecord pull_image(ImageStore& store, const PullOptions& opts) {
  Reference ref = parse_reference(opts.reference);
  std::unique_ptr<Progress> quiet;
  Progress* progress = opts.progress;
  if (!progress) {
    quiet = Progress::create(ProgressMode::none);
    progress = quiet.get();
  }
  const Platform want = opts.platform ? normalize_platform(*opts.platform) : host_platform();

  RegistryClientOptions co;
  co.config = RegistriesConfig::load();
  co.max_attempts = opts.max_attempts;
  co.retry_base_ms = opts.retry_base_ms;
  const std::string domain = ref.domain;
  co.credentials = [domain, &opts] { return resolve_credentials(domain, opts); };
  RegistryClient client(ref.registry_host(), ref.path, co);

  progress->message(ref.tag.empty() ? short_id(ref.digest) : ref.tag, "Pulling from " + ref.path);
  ManifestBlob top = client.get_manifest(ref.manifest_ref());
  const std::string top_what = "manifest of " + ref.str();
  ManifestBlob manifest = top;
  if (manifest_kind(top, top_what) == ManifestKind::index) {
    std::vector<Descriptor> entries = parse_index(top, "image index of " + ref.str());
    std::vector<std::optional<Platform>> offered;
    for (const auto& e : entries) offered.push_back(e.platform);
    auto pick = select_platform(want, offered);
    if (!pick) {
      std::string list;
      for (const auto& e : entries) {
        if (!e.platform || e.platform->os == "unknown") continue;
        std::string p = normalize_platform(*e.platform).str();
        if (list.find(p) != std::string::npos) continue;
        list += (list.empty() ? "" : ", ") + p;
      }
      throw Error(ref.str() + ": no image for platform " + want.str() +
                  " (the index offers: " + (list.empty() ? "none" : list) + ")");
    }
    const Descriptor& d = entries[*pick];
    log::debug("pull " + ref.str() + ": platform " + normalize_platform(*d.platform).str() +
               " -> " + d.digest);
    manifest = client.get_manifest(d.digest);
    if (manifest_kind(manifest, "manifest " + d.digest) != ManifestKind::image)
      throw Error(ref.str() + ": index entry " + d.digest + " is not an image manifest");
  }
  ImageManifest im = parse_image_manifest(manifest, "manifest " + manifest.digest);
  std::string config_json = client.get_blob(im.config);
  ImageConfigInfo cfg = parse_config(config_json, "image config " + im.config.digest);
  if (cfg.diff_ids.size() != im.layers.size())
    throw Error("image config " + im.config.digest + ": rootfs.diff_ids has " +
                std::to_string(cfg.diff_ids.size()) + " entries but the manifest has " +
                std::to_string(im.layers.size()) + " layers");
  // A single-platform image for another architecture: refuse when a platform was asked
  // for, warn otherwise (Docker only warns).
  if (!cfg.platform.architecture.empty()) {
    bool ok = false;
    for (const auto& p : compatible_platforms(want))
      if (p == cfg.platform) ok = true;
    if (!ok && opts.platform)
      throw Error(ref.str() + ": image platform " + cfg.platform.str() +
                  " does not match the requested platform " + want.str());
    if (!ok)
      log::warn(ref.str() + ": image platform " + cfg.platform.str() +
                " does not match the host platform " + want.str());
  }

  std::vector<LayerInfo> layers;
  std::string parent;
  for (size_t i = 0; i < im.layers.size(); ++i) {
    LayerInfo l;
    l.digest = im.layers[i].digest;
    l.diff_id = cfg.diff_ids[i];
    l.chain_id = chain_id(parent, l.diff_id);
    l.media_type = im.layers[i].media_type;
    l.size = im.layers[i].size;
    parent = l.chain_id;
    layers.push_back(l);
  }

  // Download the missing layers, `parallel` at a time. The first failure stops the others.
  std::atomic<size_t> next{0};
  std::atomic<int> downloaded{0};
  ParallelError error;
  auto worker = [&] {
    while (!error.failed()) {
      size_t i = next++;
      if (i >= layers.size()) return;
      const LayerInfo& l = layers[i];
      const std::string id = short_id(l.digest);
      try {
        if (store.has_layer(l.chain_id)) {
          progress->layer(id, "Already exists");
          continue;
        }
        std::unique_ptr<LayerWriter> w =
            store.begin_layer(l, i == 0 ? std::string() : layers[i - 1].chain_id);
        if (!w) {
          progress->layer(id, "Already exists");
          continue;
        }
        const std::string parent_chain = i == 0 ? std::string() : layers[i - 1].chain_id;
        if (auto kept = store.find_blob(l.digest)) {
          try {
            progress->layer(id, "Using kept blob");
            extract_kept_blob(*kept, im.layers[i], *w, [&](int64_t done) {
              if (error.failed()) throw Error("layer " + l.digest + ": cancelled");
              progress->bytes(id, done, l.size);
            });
            w->commit();
            progress->layer(id, "Pull complete");
            ++downloaded;
            continue;
          } catch (const std::exception& e) {
            // A damaged copy is no reason to fail: drop it and download the layer. Any
            // other failure (disk full, a refused entry) is the layer's, not the copy's.
            if (error.failed() || kept_blob_intact(*kept, im.layers[i])) throw;
            log::warn(std::string(e.what()) + ": removing it and downloading the layer");
            w.reset();
            store.remove_blob(l.digest);
            w = store.begin_layer(l, parent_chain);
            if (!w) {
              progress->layer(id, "Already exists");
              continue;
            }
          }
        }
        std::unique_ptr<BlobWriter> blob;
        if (opts.keep_blobs) blob = store.begin_blob(l.digest, l.size);
        progress->layer(id, "Pulling fs layer");
        int64_t done = 0;
        client.fetch_blob(im.layers[i], [&](const char* p, size_t n) {
          if (error.failed()) throw Error("layer " + l.digest + ": cancelled");
          w->write(p, n);
          if (blob) blob->write(p, n);
          done += int64_t(n);
          progress->bytes(id, done, l.size);
        });
        progress->layer(id, "Download complete");
        if (blob) blob->commit();
        w->commit();
        progress->layer(id, "Pull complete");
        ++downloaded;
      } catch (...) {
        error.set(std::current_exception());
        return;
      }
    }
  };
  int n = std::max(1, std::min<int>(opts.parallel, int(layers.size())));
  std::vector<std::thread> threads;
  for (int t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  error.rethrow();

  ImageRecord rec;
  rec.names.push_back(ref.str());
  rec.manifest_digest = manifest.digest;
  rec.repo_digest = ref.name() + "@" + top.digest;
  rec.config_digest = im.config.digest;
  rec.config_json = config_json;
  rec.platform = cfg.platform.architecture.empty() ? want.str() : cfg.platform.str();
  rec.layers = layers;
  rec.created_unix = int64_t(std::time(nullptr));
  store.commit_image(rec);
  progress->message("", "Digest: " + top.digest);
  // Docker's closing lines.
  progress->message("", downloaded > 0 ? "Status: Downloaded newer image for " + ref.str()
                                       : "Status: Image is up to date for " + ref.str());
  return rec;
}

}  // namespace ecsa::oci
