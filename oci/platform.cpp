#include "oci/platform.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::oci {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// "v8.2" -> {8, 2}; "v9" -> {9, 0}; anything else -> nullopt.
std::optional<std::pair<int, int>> version_of(const std::string& v) {
  if (v.size() < 2 || v[0] != 'v' || !std::isdigit(static_cast<unsigned char>(v[1])))
    return std::nullopt;
  try {
    size_t used = 0;
    int major = std::stoi(v.substr(1), &used);
    int minor = 0;
    std::string rest = v.substr(1 + used);
    if (!rest.empty()) {
      if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
      size_t u2 = 0;
      minor = std::stoi(rest.substr(1), &u2);
      if (u2 != rest.size() - 1) return std::nullopt;
    }
    return std::make_pair(major, minor);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform normalize_platform(Platform p) {
  p.os = lower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string a = lower(p.architecture), v = lower(p.variant);
  if (a == "i386") {
    a = "386";
    v = "";
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    a = "amd64";
    if (v == "v1") v = "";
  } else if (a == "aarch64" || a == "arm64") {
    a = "arm64";
    if (v == "8" || v == "v8" || v == "v8.0") v = "";
    else if (v == "9" || v == "9.0" || v == "v9.0") v = "v9";
  } else if (a == "armhf") {
    a = "arm";
    v = "v7";
  } else if (a == "armel") {
    a = "arm";
    v = "v6";
  } else if (a == "arm") {
    if (v.empty() || v == "7") v = "v7";
    else if (v == "5" || v == "6" || v == "8") v = "v" + v;
  }
  p.architecture = a;
  p.variant = v;
  return p;
}

Platform parse_platform(std::string_view s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    parts.emplace_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  const std::string q = "invalid platform \"" + std::string(s) + "\"";
  for (const auto& p : parts)
    if (p.empty()) throw Error(q + ": empty component (expected os/arch[/variant])");
  if (parts.size() > 3) throw Error(q + ": too many components (expected os/arch[/variant])");
  Platform p;
  if (parts.size() == 1) {
    // A lone word is an architecture when it is one we know, else an OS.
    static const char* const known[] = {"amd64", "x86_64", "arm64", "aarch64", "arm", "armhf",
                                        "armel", "386", "i386", "riscv64", "ppc64le", "s390x"};
    bool arch = std::find(std::begin(known), std::end(known), lower(parts[0])) != std::end(known);
    if (!arch) throw Error(q + ": expected os/arch[/variant]");
    p = {"linux", parts[0], ""};
  } else {
    p = {parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
  }
  return normalize_platform(p);
}

std::string cpu_variant(const std::string& cpuinfo, const std::string& machine, bool arm32) {
  std::string arch, model;
  size_t pos = 0;
  while (pos < cpuinfo.size()) {
    size_t nl = cpuinfo.find('\n', pos);
    std::string_view line(cpuinfo.data() + pos, (nl == std::string::npos ? cpuinfo.size() : nl) - pos);
    pos = nl == std::string::npos ? cpuinfo.size() : nl + 1;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string key = lower(trim(line.substr(0, colon)));
    if (key == "cpu architecture" && arch.empty()) arch = trim(line.substr(colon + 1));
    if (key == "model name" && model.empty()) model = trim(line.substr(colon + 1));
  }
  if (arch.empty()) {
    // Emulators (qemu-user) show the host's cpuinfo: fall back to uname.
    if (machine == "aarch64") {
      arch = "8";
    } else if (machine.size() >= 5 && machine.compare(0, 4, "armv") == 0) {
      size_t e = 4;
      while (e < machine.size() && std::isdigit(static_cast<unsigned char>(machine[e]))) ++e;
      arch = machine.substr(4, e - 4);
    }
  }
  // Raspberry Pi 1 / Zero: ARM1176 reports "CPU architecture: 7".
  if (arm32 && arch == "7" && lower(model).rfind("armv6-compatible", 0) == 0) arch = "6";
  if (arch == "8" || arch == "aarch64") return "v8";
  if (arch == "7" || arch == "7M" || arch == "?(12)" || arch == "?(13)" || arch == "?(14)" ||
      arch == "?(15)" || arch == "?(16)" || arch == "?(17)")
    return "v7";
  if (arch == "6" || arch == "6TEJ") return "v6";
  if (arch == "5" || arch == "5T" || arch == "5TE" || arch == "5TEJ") return "v5";
  if (arch == "4" || arch == "4T") return "v4";
  if (arch == "3") return "v3";
  return "unknown";
}

Platform host_platform() {
  Platform p{"linux", "", ""};
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__arm__)
  p.architecture = "arm";
  struct utsname u {};
  uname(&u);
  p.variant = cpu_variant(fs::read_file_if_exists("/proc/cpuinfo").value_or(""), u.machine, true);
  if (p.variant == "unknown") p.variant = "";
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#else
#error "unknown build architecture: add its GOARCH name here"
#endif
  return normalize_platform(p);
}

std::vector<Platform> compatible_platforms(const Platform& in) {
  Platform p = normalize_platform(in);
  std::vector<Platform> out;
  auto add = [&](const std::string& arch, const std::string& variant) {
    Platform c = normalize_platform({p.os, arch, variant});
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  if (p.architecture == "amd64") {
    int level = 1;
    if (auto v = version_of(p.variant)) level = v->first;
    for (int l = level; l >= 1; --l) add("amd64", "v" + std::to_string(l));
    add("386", "");
  } else if (p.architecture == "arm64") {
    auto v = version_of(p.variant.empty() ? "v8" : p.variant);
    if (!v) {
      add("arm64", p.variant);
    } else {
      int major = v->first, minor = v->second;
      // v9.x also runs v8.(x+5) and below (ARMv9.x builds on ARMv8.(x+5)).
      if (major == 9) {
        for (int m = minor; m >= 0; --m) add("arm64", "v9." + std::to_string(m));
        major = 8;
        minor += 5;
      }
      if (major == 8)
        for (int m = minor; m >= 0; --m) add("arm64", m == 0 ? "v8" : "v8." + std::to_string(m));
    }
    for (int l = 8; l >= 5; --l) add("arm", "v" + std::to_string(l));
  } else if (p.architecture == "arm") {
    auto v = version_of(p.variant);
    if (v && v->first >= 5 && v->first <= 8) {
      for (int l = v->first; l >= 5; --l) add("arm", "v" + std::to_string(l));
    } else {
      add("arm", p.variant);
    }
  } else {
    out.push_back(p);
  }
  return out;
}

std::optional<size_t> select_platform(const Platform& want,
                                      const std::vector<std::optional<Platform>>& offered) {
  for (const auto& pref : compatible_platforms(want))
    for (size_t i = 0; i < offered.size(); ++i)
      if (offered[i] && normalize_platform(*offered[i]) == pref) return i;
  return std::nullopt;
}

}  // namespace ecsa::oci
