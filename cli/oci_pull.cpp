// `ecsa-run pull`: fetch an image from a registry into the local image store.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/args.hpp"
#include "cli/command.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "oci/image_store.hpp"
#include "oci/pull.hpp"
#include "oci/registry_credentials.hpp"

namespace ecsa::cli {
namespace {

const char* const kUsage = "pull [OPTIONS] REF";

void print_help() {
  std::printf(
      "Usage: ecsa-run %s\n\n"
      "Pull an image (and only the layers not stored yet) from a registry.\n"
      "REF: [REGISTRY/]REPOSITORY[:TAG][@DIGEST]; Docker Hub and library/ are the defaults.\n\n"
      "Options:\n"
      "  --platform OS/ARCH[/VARIANT]  platform to pull from a multi-platform image\n"
      "                                (default: the platform ecsa-run was built for)\n"
      "  --progress auto|plain|json|none  progress output (default auto: a line per layer\n"
      "                                on a terminal, plain otherwise; json: Docker's JSON lines)\n"
      "  --creds USER:PASSWORD         registry credentials\n"
      "  --auth-file FILE|-            Docker X-Registry-Auth (base64url JSON of username,\n"
      "                                password, serveraddress) from FILE or stdin\n"
      "  --parallel N                  layers downloaded at once (default 3)\n"
      "  --keep-blobs                  also keep the compressed layer blobs in the store\n"
      "                                (verified; a layer needed again later, e.g. on\n"
      "                                another base, is then not downloaded again).\n"
      "                                Default: no compressed copy, fewer writes\n"
      "  --ecr-endpoint URL            ECR API endpoint (default: from the registry host)\n"
      "  --help                        this text\n\n"
      "Credentials are looked up in this order: --auth-file, --creds, Docker's config.json\n"
      "(auths, credHelpers, credsStore), then ecr:GetAuthorizationToken for ECR registries.\n"
      "Registry TLS settings: /etc/ecsa/registries.json ($ECSA_REGISTRIES_CONF).\n"
      "The image store is $ECSA_STATE_DIR or /var/lib/ecsa.\n",
      kUsage);
}

int pull_main(const std::vector<std::string>& argv) {
  Args args(argv, {{{"platform"}, true},
                   {{"progress"}, true},
                   {{"creds"}, true},
                   {{"auth-file"}, true},
                   {{"parallel"}, true},
                   {{"keep-blobs"}, false},
                   {{"ecr-endpoint"}, true},
                   {{"help", "h"}, false}});
  if (args.has("help")) {
    print_help();
    return 0;
  }
  if (args.positional().size() != 1)
    throw Error("pull: expected one image reference (usage: ecsa-run " + std::string(kUsage) + ")");
  oci::PullOptions opts;
  opts.reference = args.positional()[0];
  if (auto p = args.value("platform")) opts.platform = oci::parse_platform(*p);
  if (auto p = args.value("parallel")) {
    try {
      size_t used = 0;
      opts.parallel = std::stoi(*p, &used);
      if (used != p->size() || opts.parallel < 1 || opts.parallel > 32) throw Error("");
    } catch (const std::exception&) {
      throw Error("--parallel: expected a number from 1 to 32, got \"" + *p + "\"");
    }
  }
  if (auto f = args.value("auth-file")) {
    std::string text;
    if (*f == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      text = fs::read_file(*f);
    }
    opts.credentials = oci::parse_registry_auth(text, *f == "-" ? "auth from stdin" : *f);
  } else if (auto c = args.value("creds")) {
    opts.credentials = oci::parse_creds_flag(*c);
  }
  opts.ecr_endpoint = args.value_or("ecr-endpoint", "");
  opts.keep_blobs = args.has("keep-blobs");
  auto mode = oci::parse_progress_mode(args.value_or("progress", "auto"));
  auto progress = oci::Progress::create(mode, stdout);
  opts.progress = progress.get();
  // A credential helper that exits early must not kill us with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  auto store = oci::ImageStore::open();
  oci::ImageRecord rec = oci::pull_image(*store, opts);
  if (mode == oci::ProgressMode::none) std::printf("%s\n", rec.config_digest.c_str());
  return 0;
}

}  // namespace
}  // namespace ecsa::cli

ECSA_COMMAND("pull", "pull [OPTIONS] REF", "pull an image from a registry (Docker Hub, ECR, ...)",
             ecsa::cli::pull_main);
