// The verbs of `ecsa-run`. Each cli/*.cpp registers its own verbs with ECSA_COMMAND, so
// main() stays a dispatcher and adding a verb touches one file.
#pragma once
#include <string>
#include <vector>

namespace ecsa::cli {

using CommandFn = int (*)(const std::vector<std::string>& args);

struct Command {
  const char* name;     // "pull", "task"
  const char* usage;    // one line: "pull [OPTIONS] REF"
  const char* summary;  // one line for `ecsa-run --help`
  CommandFn run;        // args are those after the verb; returns the exit code
};

void register_command(const Command& c);
const std::vector<Command>& commands();

struct CommandRegistrar {
  explicit CommandRegistrar(const Command& c) { register_command(c); }
};

}  // namespace ecsa::cli

#define ECSA_CMD_CAT2(a, b) a##b
#define ECSA_CMD_CAT(a, b) ECSA_CMD_CAT2(a, b)
#define ECSA_COMMAND(name, usage, summary, fn)                                   \
  static ::ecsa::cli::CommandRegistrar ECSA_CMD_CAT(ecsa_command_, __LINE__)( \
      ::ecsa::cli::Command{name, usage, summary, fn})
