// The runc-compatible face: `ecsa-runc VERB ...` / `ecsa-run oci VERB ...`.
#include <cstdio>

#include "cli/command.hpp"

namespace ecsa::cli {
namespace {
int oci_main(const std::vector<std::string>& args) {
  (void)args;
  std::fprintf(stderr, "ecsa-run: oci: not implemented yet\n");
  return 1;
}
}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("oci", "oci [GLOBAL OPTIONS] VERB [ARGS...]",
             "runc-compatible OCI runtime (create, start, state, kill, delete, run, ...)",
             ecsa::cli::oci_main);
