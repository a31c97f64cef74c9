// Platforms ("linux/arm64", "linux/arm/v7") and picking one manifest from an image index
// the way containerd's platforms package does (normalisation, host default from the
// architecture the binary was built for, ordered fallbacks such as arm64 -> arm/v7).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsa::oci {

struct Platform {
  std::string os;            // "linux"
  std::string architecture;  // GOARCH names: amd64, arm64, arm, 386, ...
  std::string variant;       // "v7"; "" where the normal form has none (arm64/v8, amd64/v1)
  std::string str() const;   // "linux/arm/v7"
  bool operator==(const Platform&) const = default;
};

// containerd's normalisation: aarch64 -> arm64, arm64/v8 -> arm64, arm -> arm/v7,
// armhf -> arm/v7, armel -> arm/v6, x86_64 -> amd64, i386 -> 386, os lower-cased.
Platform normalize_platform(Platform p);

// "os/arch[/variant]" (also "arch" alone, meaning linux), normalised. Errors quote the input.
Platform parse_platform(std::string_view s);

// The platform this binary runs as (its build architecture, not the kernel's).
Platform host_platform();

// The ARM variant ("v6", "v7", "v8", ...) from /proc/cpuinfo text, falling back to
// `machine` (uname) when the "CPU architecture" line is missing; arm32 enables the
// Raspberry Pi 1/Zero quirk (ARMv6 cores that report architecture 7).
std::string cpu_variant(const std::string& cpuinfo, const std::string& machine, bool arm32);

// Platforms `p` can run, most preferred first (p itself first).
std::vector<Platform> compatible_platforms(const Platform& p);

// Index of the best entry of `offered` for `want` (entries without a platform never match),
// or std::nullopt.
std::optional<size_t> select_platform(const Platform& want,
                                      const std::vector<std::optional<Platform>>& offered);

}  // namespace ecsa::oci
