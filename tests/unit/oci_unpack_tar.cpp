#include "tests/unit/oci_unpack_tar.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include <cstdlib>
#include <stdexcept>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/digest.hpp"
#include "oci/layer_extract.hpp"

namespace ecsa::testing {

TarEntry tar_file(const std::string& name, const std::string& data, mode_t perm) {
  TarEntry e;
  e.name = name;
  e.data = data;
  e.perm = perm;
  return e;
}
TarEntry tar_dir(const std::string& name, mode_t perm) {
  TarEntry e;
  e.name = name;
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}
TarEntry tar_symlink(const std::string& name, const std::string& target) {
  TarEntry e;
  e.name = name;
  e.type = AE_IFLNK;
  e.perm = 0777;
  e.symlink = target;
  return e;
}
TarEntry tar_hardlink(const std::string& name, const std::string& target) {
  TarEntry e;
  e.name = name;
  e.hardlink = target;
  return e;
}
TarEntry tar_chardev(const std::string& name, unsigned major, unsigned minor) {
  TarEntry e;
  e.name = name;
  e.type = AE_IFCHR;
  e.perm = 0666;
  e.dev_major = major;
  e.dev_minor = minor;
  return e;
}
TarEntry tar_fifo(const std::string& name) {
  TarEntry e;
  e.name = name;
  e.type = AE_IFIFO;
  e.perm = 0600;
  return e;
}

namespace {
la_ssize_t append_cb(struct archive*, void* ud, const void* buf, size_t n) {
  static_cast<std::string*>(ud)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}
void check(struct archive* a, int rc, const char* what) {
  if (rc < ARCHIVE_WARN)
    throw std::runtime_error(std::string(what) + ": " +
                             (archive_error_string(a) ? archive_error_string(a) : "?"));
}
}  // namespace

std::string build_tar(const std::vector<TarEntry>& entries) {
  std::string out;
  struct archive* a = archive_write_new();
  check(a, archive_write_set_format_pax(a), "format");
  archive_write_set_bytes_in_last_block(a, 1);
  check(a, archive_write_open(a, &out, nullptr, append_cb, nullptr), "open");
  for (const auto& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.name.c_str());
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, 0);
    if (!t.hardlink.empty()) {
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, t.perm);
      archive_entry_set_hardlink(e, t.hardlink.c_str());
      archive_entry_set_size(e, 0);
    } else {
      archive_entry_set_filetype(e, t.type);
      archive_entry_set_perm(e, t.perm);
      if (t.type == AE_IFLNK) archive_entry_set_symlink(e, t.symlink.c_str());
      if (t.type == AE_IFCHR || t.type == AE_IFBLK) {
        archive_entry_set_rdevmajor(e, t.dev_major);
        archive_entry_set_rdevminor(e, t.dev_minor);
      }
      archive_entry_set_size(e, t.type == AE_IFREG ? static_cast<la_int64_t>(t.data.size()) : 0);
    }
    for (const auto& [k, v] : t.xattrs) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    check(a, archive_write_header(a, e), "header");
    if (t.type == AE_IFREG && t.hardlink.empty() && !t.data.empty())
      archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  check(a, archive_write_close(a), "close");
  archive_write_free(a);
  return out;
}

std::string compress(const std::string& data, oci::Compression c) {
  if (c == oci::Compression::none) return data;
  std::string out;
  struct archive* a = archive_write_new();
  check(a, archive_write_set_format_raw(a), "raw");
  check(a, c == oci::Compression::gzip ? archive_write_add_filter_gzip(a) : archive_write_add_filter_zstd(a),
        "filter");
  archive_write_set_bytes_in_last_block(a, 1);
  check(a, archive_write_open(a, &out, nullptr, append_cb, nullptr), "open");
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_pathname(e, "data");
  check(a, archive_write_header(a, e), "header");
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  check(a, archive_write_close(a), "close");
  archive_write_free(a);
  return out;
}

const char* media_type_for(oci::Compression c) {
  switch (c) {
    case oci::Compression::gzip: return "application/vnd.oci.image.layer.v1.tar+gzip";
    case oci::Compression::zstd: return "application/vnd.oci.image.layer.v1.tar+zstd";
    default: return "application/vnd.oci.image.layer.v1.tar";
  }
}

TestLayer make_layer(const std::vector<TarEntry>& entries, oci::Compression c,
                     const std::string& parent_chain) {
  TestLayer l;
  l.tar = build_tar(entries);
  l.blob = compress(l.tar, c);
  l.info.digest = oci::sha256_digest(l.blob);
  l.info.diff_id = oci::sha256_digest(l.tar);
  l.info.chain_id = oci::chain_id(parent_chain, l.info.diff_id);
  l.info.media_type = media_type_for(c);
  l.info.size = static_cast<int64_t>(l.blob.size());
  return l;
}

bool store_layer(oci::ImageStore& store, const TestLayer& l, const std::string& parent_chain,
                 size_t chunk) {
  auto w = store.begin_layer(l.info, parent_chain);
  if (!w) return false;
  for (size_t off = 0; off < l.blob.size(); off += chunk)
    w->write(l.blob.data() + off, std::min(chunk, l.blob.size() - off));
  w->commit();
  return true;
}

namespace {
void snap(const std::string& root, const std::string& rel, std::map<std::string, NodeInfo>& out) {
  for (const auto& n : fs::list_dir(rel.empty() ? root : root + "/" + rel)) {
    std::string r = rel.empty() ? n : rel + "/" + n;
    std::string p = root + "/" + r;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) throw_errno("lstat " + p);
    NodeInfo ni;
    ni.mode = st.st_mode & 07777;
    ni.uid = st.st_uid;
    ni.gid = st.st_gid;
    switch (st.st_mode & S_IFMT) {
      case S_IFREG:
        ni.type = 'f';
        ni.size = st.st_size;
        ni.content = oci::sha256_digest(fs::read_file(p));
        break;
      case S_IFDIR: ni.type = 'd'; break;
      case S_IFLNK: {
        ni.type = 'l';
        char buf[4096];
        ssize_t len = ::readlink(p.c_str(), buf, sizeof buf);
        ni.content.assign(buf, len > 0 ? static_cast<size_t>(len) : 0);
        ni.mode = 0;  // symlink modes are meaningless
        break;
      }
      case S_IFCHR: ni.type = 'c'; ni.rdev = st.st_rdev; break;
      case S_IFBLK: ni.type = 'b'; ni.rdev = st.st_rdev; break;
      case S_IFIFO: ni.type = 'p'; break;
      default: ni.type = 's';
    }
    out[r] = ni;
    if (ni.type == 'd') snap(root, r, out);
  }
}
std::string show(const NodeInfo& n) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%c mode=%o %u:%u size=%lld rdev=%llu %s", n.type, n.mode, n.uid,
                n.gid, static_cast<long long>(n.size), static_cast<unsigned long long>(n.rdev),
                n.content.substr(0, 40).c_str());
  return buf;
}
}  // namespace

std::map<std::string, NodeInfo> snapshot(const std::string& dir) {
  std::map<std::string, NodeInfo> out;
  snap(dir, "", out);
  return out;
}

std::string describe_diff(const std::map<std::string, NodeInfo>& a,
                          const std::map<std::string, NodeInfo>& b) {
  std::string s;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) s += "only in first: " + k + " (" + show(v) + ")\n";
    else if (!(it->second == v)) s += "differs: " + k + ": " + show(v) + " vs " + show(it->second) + "\n";
  }
  for (const auto& [k, v] : b)
    if (!a.count(k)) s += "only in second: " + k + " (" + show(v) + ")\n";
  return s;
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/ecsa-oci-test-XXXXXX";
  if (!::mkdtemp(tmpl)) throw_errno("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  try {
    fs::remove_all(path_);
  } catch (...) {
  }
}

bool threads_work() {
  static int cached = -1;
  if (cached >= 0) return cached == 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    std::thread t([] {});
    t.join();
    ::_exit(0);
  }
  int status = 0;
  bool ok = false;
  for (int i = 0; i < 100; ++i) {  // up to 10 s
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      break;
    }
    ::usleep(100000);
  }
  if (!ok) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  cached = ok ? 1 : 0;
  return ok;
}

void extract_tar(const std::string& tar, const std::string& dir) {
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, tar.data(), tar.size()) != ARCHIVE_OK) {
    archive_read_free(a);
    throw std::runtime_error("open tar in memory");
  }
  try {
    oci::LayerExtractor ex(dir, "layer test");
    ex.extract(a);
    ex.finish();
  } catch (...) {
    archive_read_free(a);
    throw;
  }
  archive_read_free(a);
}

std::vector<std::string> list_tree(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& [k, v] : snapshot(dir)) out.push_back(k);
  return out;
}

}  // namespace ecsa::testing
