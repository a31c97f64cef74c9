// `ecsa-run check`: what this host's kernel has and lacks for ecsa, one line per
// requirement with the remedy; exit 1 when a required feature is missing.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "runtime/host_check.hpp"

namespace ecsa::cli {
namespace {

const char* kUsage = "check [--format text|json] [--host-root DIR]";

void print_help() {
  std::printf(
      "Usage: ecsa-run %s\n\n"
      "Checks that this host has what ecsa needs: namespaces, cgroup controllers (memory\n"
      "above all), CFS bandwidth, overlayfs, seccomp, nftables, bridge, veth, ip_forward.\n"
      "Prints one line per requirement: ok, missing or warning, what was found, and the\n"
      "remedy. Exits 1 when a required feature is missing, 0 otherwise.\n\n"
      "Options:\n"
      "  --format text|json  json: an array of {name, status, required, detail, remedy}\n"
      "  --host-root DIR     read proc/, sys/, boot/ and lib/modules/ under DIR instead of /\n"
      "                      (a mounted image of another host); skips the live kernel probes\n"
      "  -h, --help          this text\n",
      kUsage);
}

void print_text(const std::vector<runtime::CheckResult>& results) {
  size_t width = 0;
  for (const auto& r : results) width = std::max(width, r.name.size());
  int missing_required = 0, missing_optional = 0, warnings = 0;
  for (const auto& r : results) {
    std::string status = runtime::to_string(r.status);
    if (r.status == runtime::CheckStatus::missing) {
      if (r.required) {
        ++missing_required;
      } else {
        ++missing_optional;
        status = "missing (optional)";
      }
    } else if (r.status == runtime::CheckStatus::warning) {
      ++warnings;
    }
    std::string line = r.detail;
    if (!r.remedy.empty()) line += "; remedy: " + r.remedy;
    std::printf("%-*s  %-18s  %s\n", static_cast<int>(width), r.name.c_str(), status.c_str(),
                line.c_str());
  }
  if (missing_required == 0)
    std::printf("\nall required features present (%d optional missing, %d warning%s)\n",
                missing_optional, warnings, warnings == 1 ? "" : "s");
  else
    std::printf("\n%d required feature%s missing (%d optional missing, %d warning%s)\n",
                missing_required, missing_required == 1 ? "" : "s", missing_optional, warnings,
                warnings == 1 ? "" : "s");
}

void print_json(const std::vector<runtime::CheckResult>& results) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& r : results) {
    out.push_back({{"name", r.name},
                   {"status", runtime::to_string(r.status)},
                   {"required", r.required},
                   {"detail", r.detail},
                   {"remedy", r.remedy}});
  }
  std::printf("%s\n", out.dump(2).c_str());
}

int check_main(const std::vector<std::string>& argv) {
  Args args(argv, {{{"format", "f"}, true}, {{"host-root"}, true}, {{"help", "h"}, false}});
  if (args.has("help")) {
    print_help();
    return 0;
  }
  if (!args.positional().empty())
    throw Error("check: unexpected argument \"" + args.positional()[0] + "\" (see --help)");
  std::string format = args.value_or("format", "text");
  if (format != "text" && format != "json")
    throw Error("check: --format: expected text or json, got \"" + format + "\"");

  runtime::HostCheckOptions opts;
  if (auto root = args.value("host-root")) {
    opts.root = *root;
    opts.live_probes = false;
  }
  auto results = runtime::check_host(opts);
  if (format == "json")
    print_json(results);
  else
    print_text(results);
  return runtime::any_required_missing(results) ? 1 : 0;
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("check", "check [--format text|json] [--host-root DIR]",
             "check the host's kernel for what ecsa needs, with remedies", ecsa::cli::check_main);
