// The local image store's verbs: `images` (table or --format json), `image ls|inspect|prune|rm`,
// and `rmi`. The store root is $ECSA_STATE_DIR or /var/lib/ecsa.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <tuple>
#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "oci/store_impl.hpp"

namespace ecsa::cli {
namespace {

using nlohmann::json;

const char* kImagesUsage = "images [--format table|json] [--quiet]";
const char* kImageUsage = "image ls|inspect|prune|rm [ARGS...]";
const char* kRmiUsage = "rmi REF|ID [REF|ID...]";

void images_help() {
  std::printf(
      "Usage: ecsa-run %s\n\n"
      "Lists the images in the local store ($ECSA_STATE_DIR or /var/lib/ecsa): one row per\n"
      "name, like docker: REPOSITORY TAG IMAGE ID CREATED SIZE.\n\n"
      "Options:\n"
      "  --format table|json  json: an array of {id, names, repository, tag, repo_digest,\n"
      "                       manifest_digest, platform, created, pulled_unix, size, layers}\n"
      "  -q, --quiet          image IDs only\n"
      "  -h, --help           this text\n",
      kImagesUsage);
}

void image_help() {
  std::printf(
      "Usage: ecsa-run %s\n\n"
      "  image ls [--format table|json]   same as `images`\n"
      "  image inspect REF|ID...          JSON array, docker-inspect style\n"
      "  image prune                      removes untagged images, layers no image or\n"
      "                                   container uses, and leftovers of interrupted pulls\n"
      "  image rm REF|ID...               same as `rmi`\n",
      kImageUsage);
}

void rmi_help() {
  std::printf(
      "Usage: ecsa-run %s\n\n"
      "Removes a name from an image, and the image when it was its last name (or when given\n"
      "by ID). Layers are freed by `image prune`.\n",
      kRmiUsage);
}

bool wants_help(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "-h" || a == "--help" || a == "-help") return true;
  return false;
}

std::string hex_of(const std::string& digest) {
  auto c = digest.find(':');
  return c == std::string::npos ? digest : digest.substr(c + 1);
}

// docker's short form: "busybox" for docker.io/library/busybox.
std::string familiar(const std::string& name) {
  for (const char* p : {"docker.io/library/", "docker.io/"})
    if (name.rfind(p, 0) == 0) return name.substr(std::string(p).size());
  return name;
}

std::pair<std::string, std::string> repo_and_tag(const std::string& name) {
  std::string n = familiar(name);
  if (auto at = n.find('@'); at != std::string::npos) return {n.substr(0, at), "<none>"};
  auto colon = n.rfind(':');
  auto slash = n.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    return {n.substr(0, colon), n.substr(colon + 1)};
  return {n, "<none>"};
}

// docker's units.HumanSize: three significant digits, decimal units.
std::string human_size(int64_t bytes) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", v, units[u]);
  return buf;
}

// RFC 3339 ("2024-01-02T03:04:05.5Z", "...+02:00") to Unix seconds; 0 when unparsable.
int64_t parse_rfc3339(const std::string& s) {
  struct tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t t = ::timegm(&tm);
  size_t i = static_cast<size_t>(consumed);
  if (i < s.size() && s[i] == '.')
    while (++i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int hh = 0, mm = 0;
    if (std::sscanf(s.c_str() + i + 1, "%d:%d", &hh, &mm) == 2)
      t -= (s[i] == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
  }
  return t;
}

// docker's units.HumanDuration + " ago".
std::string human_ago(int64_t when) {
  if (when <= 0) return "N/A";
  int64_t d = ::time(nullptr) - when;
  if (d < 0) d = 0;
  char buf[64];
  int64_t h = d / 3600;
  if (d < 1) return "Less than a second ago";
  if (d == 1) return "1 second ago";
  if (d < 60) std::snprintf(buf, sizeof buf, "%lld seconds ago", static_cast<long long>(d));
  else if (d / 60 == 1) return "About a minute ago";
  else if (d < 3600) std::snprintf(buf, sizeof buf, "%lld minutes ago", static_cast<long long>(d / 60));
  else if (h == 1) return "About an hour ago";
  else if (h < 48) std::snprintf(buf, sizeof buf, "%lld hours ago", static_cast<long long>(h));
  else if (h < 24 * 7 * 2) std::snprintf(buf, sizeof buf, "%lld days ago", static_cast<long long>(h / 24));
  else if (h < 24 * 30 * 2) std::snprintf(buf, sizeof buf, "%lld weeks ago", static_cast<long long>(h / 24 / 7));
  else if (h < 24 * 365 * 2) std::snprintf(buf, sizeof buf, "%lld months ago", static_cast<long long>(h / 24 / 30));
  else std::snprintf(buf, sizeof buf, "%lld years ago", static_cast<long long>(h / 24 / 365));
  return buf;
}

json config_of(const oci::ImageRecord& r) {
  json c = json::parse(r.config_json, nullptr, false);
  return c.is_discarded() || !c.is_object() ? json::object() : c;
}

std::string created_of(const oci::ImageRecord& r) {
  json c = config_of(r);
  return c.contains("created") && c["created"].is_string() ? c["created"].get<std::string>() : "";
}

int list_images(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    images_help();
    return 0;
  }
  Args args(argv, {{{"format"}, true}, {{"quiet", "q"}, false}});
  if (!args.positional().empty()) throw Error("images: unexpected argument " + args.positional()[0]);
  std::string format = args.value_or("format", "table");
  if (format != "table" && format != "json")
    throw Error("images: --format: expected table or json, got \"" + format + "\"");
  auto store = oci::ImageStore::open();
  auto images = store->list_images();
  // Newest first, as docker lists them.
  auto created = [](const oci::ImageRecord& r) {
    int64_t c = parse_rfc3339(created_of(r));
    return c ? c : r.created_unix;
  };
  std::stable_sort(images.begin(), images.end(),
                   [&](const oci::ImageRecord& a, const oci::ImageRecord& b) {
                     return created(a) > created(b);
                   });
  if (format == "json") {
    json out = json::array();
    for (const auto& r : images) {
      auto [repo, tag] = r.names.empty() ? std::pair<std::string, std::string>{"<none>", "<none>"}
                                         : repo_and_tag(r.names[0]);
      out.push_back({{"id", r.config_digest},
                     {"names", r.names},
                     {"repository", repo},
                     {"tag", tag},
                     {"repo_digest", r.repo_digest},
                     {"manifest_digest", r.manifest_digest},
                     {"platform", r.platform},
                     {"created", created_of(r)},
                     {"pulled_unix", r.created_unix},
                     {"size", r.size},
                     {"layers", r.layers.size()}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (args.has("quiet")) {
    for (const auto& r : images) std::printf("%s\n", hex_of(r.config_digest).substr(0, 12).c_str());
    return 0;
  }
  struct Row {
    std::string repo, tag, id, created, size;
  };
  std::vector<Row> rows;
  for (const auto& r : images) {
    int64_t created = parse_rfc3339(created_of(r));
    Row base{"<none>", "<none>", hex_of(r.config_digest).substr(0, 12),
             human_ago(created ? created : r.created_unix), human_size(r.size)};
    if (r.names.empty()) rows.push_back(base);
    for (const auto& n : r.names) {
      Row row = base;
      std::tie(row.repo, row.tag) = repo_and_tag(n);
      rows.push_back(row);
    }
  }
  size_t w[4] = {10, 3, 8, 7};
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.repo.size());
    w[1] = std::max(w[1], r.tag.size());
    w[2] = std::max(w[2], r.id.size());
    w[3] = std::max(w[3], r.created.size());
  }
  auto line = [&](const std::string& a, const std::string& b, const std::string& c,
                  const std::string& d, const std::string& e) {
    std::printf("%-*s   %-*s   %-*s   %-*s   %s\n", static_cast<int>(w[0]), a.c_str(),
                static_cast<int>(w[1]), b.c_str(), static_cast<int>(w[2]), c.c_str(),
                static_cast<int>(w[3]), d.c_str(), e.c_str());
  };
  line("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (const auto& r : rows) line(r.repo, r.tag, r.id, r.created, r.size);
  return 0;
}

int inspect(const std::vector<std::string>& refs) {
  if (refs.empty()) throw Error("image inspect: missing REF");
  auto store = oci::ImageStore::open();
  json out = json::array();
  for (const auto& ref : refs) {
    auto r = store->find_image(ref);
    if (!r) throw Error("image inspect " + ref + ": no such image");
    json c = config_of(*r);
    json diff_ids = json::array(), layers = json::array();
    for (const auto& l : r->layers) {
      diff_ids.push_back(l.diff_id);
      layers.push_back({{"digest", l.digest},
                        {"diff_id", l.diff_id},
                        {"chain_id", l.chain_id},
                        {"media_type", l.media_type},
                        {"size", l.size}});
    }
    json repo_digests = json::array();
    if (!r->repo_digest.empty()) repo_digests.push_back(r->repo_digest);
    out.push_back({{"Id", r->config_digest},
                   {"RepoTags", r->names},
                   {"RepoDigests", repo_digests},
                   {"Created", c.value("created", "")},
                   {"Architecture", c.value("architecture", "")},
                   {"Variant", c.value("variant", "")},
                   {"Os", c.value("os", "")},
                   {"Author", c.value("author", "")},
                   {"Config", c.value("config", json::object())},
                   {"Size", r->size},
                   {"RootFS", {{"Type", "layers"}, {"Layers", diff_ids}}},
                   {"Platform", r->platform},
                   {"ManifestDigest", r->manifest_digest},
                   {"PulledUnix", r->created_unix},
                   {"LayerBlobs", layers}});
  }
  std::printf("%s\n", out.dump(4).c_str());
  return 0;
}

int remove_images(const std::vector<std::string>& refs) {
  if (refs.empty()) throw Error("rmi: missing REF (see --help)");
  oci::StoreImpl store(oci::default_store_root());
  for (const auto& ref : refs)
    for (const auto& line : store.remove_image_reporting(ref)) std::printf("%s\n", line.c_str());
  return 0;
}

int prune() {
  oci::StoreImpl store(oci::default_store_root());
  int images = store.remove_dangling_images();
  int64_t freed = store.prune();
  std::printf("Deleted images: %d\nTotal reclaimed space: %s\n", images, human_size(freed).c_str());
  return 0;
}

int image_main(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "-h" || argv[0] == "--help" || argv[0] == "help") {
    image_help();
    return argv.empty() ? 2 : 0;
  }
  std::string sub = argv[0];
  std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (sub == "ls" || sub == "list") return list_images(rest);
  if (wants_help(rest)) {
    image_help();
    return 0;
  }
  if (sub == "inspect") return inspect(Args(rest, {}).positional());
  if (sub == "rm" || sub == "remove") return remove_images(Args(rest, {}).positional());
  if (sub == "prune") {
    Args a(rest, {{{"force", "f"}, false}});
    if (!a.positional().empty()) throw Error("image prune: unexpected argument " + a.positional()[0]);
    return prune();
  }
  throw Error("image: unknown subcommand \"" + sub + "\" (ls, inspect, prune, rm)");
}

int rmi_main(const std::vector<std::string>& argv) {
  if (wants_help(argv)) {
    rmi_help();
    return 0;
  }
  return remove_images(Args(argv, {{{"force", "f"}, false}}).positional());
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("images", ecsa::cli::kImagesUsage, "list local images (table or --format json)",
             ecsa::cli::list_images);
ECSA_COMMAND("image", ecsa::cli::kImageUsage, "manage local images: ls, inspect, prune, rm",
             ecsa::cli::image_main);
ECSA_COMMAND("rmi", ecsa::cli::kRmiUsage, "remove local images by name or ID", ecsa::cli::rmi_main);
