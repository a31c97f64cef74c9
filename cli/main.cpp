// ecsa-run's entry point: picks the face (runc-compatible when invoked as ecsa-runc or
// as `ecsa-run oci`), parses the verb and hands over to the libraries.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace ecsa::cli {

namespace {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

void print_help() {
  std::printf(
      "Usage: ecsa-run [--help] [--version] COMMAND [ARGS...]\n\n"
      "A small container runtime that runs Amazon ECS tasks (ECS Anywhere) and OCI images\n"
      "without a Docker daemon.\n\nCommands:\n");
  auto cmds = commands();
  std::sort(cmds.begin(), cmds.end(),
            [](const Command& a, const Command& b) { return std::strcmp(a.name, b.name) < 0; });
  for (const auto& c : cmds) std::printf("  %-10s %s\n", c.name, c.summary);
  std::printf(
      "\nRun 'ecsa-run COMMAND --help' for a command's options.\n"
      "The runc-compatible OCI runtime answers as `ecsa-runc` or `ecsa-run oci`.\n");
}
}  // namespace

void register_command(const Command& c) { registry().push_back(c); }
const std::vector<Command>& commands() { return registry(); }

}  // namespace ecsa::cli

int main(int argc, char** argv) {
  using namespace ecsa::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  // Invoked as ecsa-runc: the whole command line belongs to the OCI face (`oci` verb).
  std::string self = ecsa::fs::basename(argv[0]);
  if (self == "ecsa-runc" || self == "runc") args.insert(args.begin(), "oci");
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_help();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "-v" || args[0] == "version") {
    std::printf("ecsa-run version %s\ncommit: %s\n", ECSA_VERSION, ECSA_COMMIT);
    return 0;
  }
  for (const auto& c : commands()) {
    if (args[0] != c.name) continue;
    bool help = args.size() > 1 && args[1] == "--help";
    try {
      return c.run({args.begin() + 1, args.end()});
    } catch (const std::exception& e) {
      // A verb without a help text of its own: its usage line and summary.
      if (help) {
        std::printf("Usage: ecsa-run %s\n\n%s\n", c.usage, c.summary);
        return 0;
      }
      std::fprintf(stderr, "ecsa-run: %s\n", e.what());
      return 1;
    }
  }
  std::fprintf(stderr, "ecsa-run: unknown command '%s' (see 'ecsa-run --help')\n",
               args[0].c_str());
  return 2;
}
