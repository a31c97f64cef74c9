// Platform normalisation, ARM variant detection and index selection, checked against the
// behaviour of containerd's platforms package.
#include <catch2/catch.hpp>

#include "common/error.hpp"
#include "oci/platform.hpp"

using namespace ecsa::oci;

TEST_CASE("platforms normalise like containerd's", "[unit][oci]") {
  CHECK(parse_platform("linux/arm64/v8").str() == "linux/arm64");
  CHECK(parse_platform("linux/aarch64").str() == "linux/arm64");
  CHECK(parse_platform("linux/arm").str() == "linux/arm/v7");
  CHECK(parse_platform("linux/arm/7").str() == "linux/arm/v7");
  CHECK(parse_platform("linux/arm/6").str() == "linux/arm/v6");
  CHECK(parse_platform("linux/armhf").str() == "linux/arm/v7");
  CHECK(parse_platform("linux/armel").str() == "linux/arm/v6");
  CHECK(parse_platform("Linux/x86_64").str() == "linux/amd64");
  CHECK(parse_platform("linux/i386").str() == "linux/386");
  CHECK(parse_platform("linux/arm64/9.0").str() == "linux/arm64/v9");
  CHECK(parse_platform("arm64").str() == "linux/arm64");
  CHECK_THROWS_WITH(parse_platform("linux//v7"), Catch::Contains("invalid platform \"linux//v7\""));
  CHECK_THROWS_WITH(parse_platform("a/b/c/d"), Catch::Contains("too many components"));
  CHECK_THROWS_WITH(parse_platform("linux"), Catch::Contains("expected os/arch"));
}

TEST_CASE("the host platform is the build architecture", "[unit][oci]") {
  Platform h = host_platform();
  CHECK(h.os == "linux");
#if defined(__x86_64__)
  CHECK(h.str() == "linux/amd64");
#elif defined(__aarch64__)
  CHECK(h.str() == "linux/arm64");
#endif
}

TEST_CASE("ARM variant from /proc/cpuinfo, uname fallback and the Pi Zero quirk", "[unit][oci]") {
  const std::string pi4 =
      "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
      "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n";
  CHECK(cpu_variant(pi4, "aarch64", false) == "v8");
  CHECK(cpu_variant(pi4, "armv7l", true) == "v8");  // 32-bit userland on a Pi 4
  const std::string pi2 = "model name\t: ARMv7 Processor rev 5 (v7l)\nCPU architecture: 7\n";
  CHECK(cpu_variant(pi2, "armv7l", true) == "v7");
  const std::string pizero = "model name\t: ARMv6-compatible processor rev 7 (v6l)\n"
                             "cpu architecture: 7\n";
  CHECK(cpu_variant(pizero, "armv6l", true) == "v6");
  CHECK(cpu_variant(pizero, "armv6l", false) == "v7");
  CHECK(cpu_variant("processor: 0\n", "armv7l", true) == "v7");
  CHECK(cpu_variant("processor: 0\n", "aarch64", false) == "v8");
  CHECK(cpu_variant("CPU architecture: 5TEJ\n", "", true) == "v5");
  CHECK(cpu_variant("", "x86_64", false) == "unknown");
}

TEST_CASE("fallback order of compatible platforms", "[unit][oci]") {
  auto strs = [](const std::string& p) {
    std::vector<std::string> out;
    for (const auto& c : compatible_platforms(parse_platform(p))) out.push_back(c.str());
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(strs("linux/arm64") ==
        V{"linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"});
  CHECK(strs("linux/arm64/v8.2") == V{"linux/arm64/v8.2", "linux/arm64/v8.1", "linux/arm64",
                                      "linux/arm/v8", "linux/arm/v7", "linux/arm/v6",
                                      "linux/arm/v5"});
  CHECK(strs("linux/arm/v7") == V{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"});
  CHECK(strs("linux/arm/v6") == V{"linux/arm/v6", "linux/arm/v5"});
  CHECK(strs("linux/amd64") == V{"linux/amd64", "linux/386"});
  CHECK(strs("linux/amd64/v3") == V{"linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"});
  CHECK(strs("linux/riscv64") == V{"linux/riscv64"});
}

TEST_CASE("select_platform picks the most preferred entry of an index", "[unit][oci]") {
  std::vector<std::optional<Platform>> idx = {
      Platform{"linux", "amd64", ""}, Platform{"linux", "arm", "v6"},
      Platform{"linux", "arm", ""},  // no variant: v7
      Platform{"linux", "arm64", "v8"},
      std::nullopt,  // e.g. an attestation manifest
      Platform{"unknown", "unknown", ""}};
  CHECK(select_platform(parse_platform("linux/arm64"), idx) == 3u);
  CHECK(select_platform(parse_platform("linux/amd64"), idx) == 0u);
  CHECK(select_platform(parse_platform("linux/arm/v7"), idx) == 2u);
  CHECK(select_platform(parse_platform("linux/arm/v6"), idx) == 1u);
  CHECK_FALSE(select_platform(parse_platform("linux/riscv64"), idx));
  // arm64 host, only 32-bit ARM offered: falls back to arm/v7 before arm/v6.
  std::vector<std::optional<Platform>> arm32 = {Platform{"linux", "arm", "v6"},
                                                Platform{"linux", "arm", "v7"}};
  CHECK(select_platform(parse_platform("linux/arm64"), arm32) == 1u);
  CHECK_FALSE(select_platform(parse_platform("windows/amd64"), idx));
}
