// The built ecsa-run starts without libcurl, libarchive, libmnl and libnftables (and what
// they pull in): they are opened by the shims on first use, and a command that needs a
// missing one fails with a message naming it.
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/fs.hpp"
#include "tests/support/process_harness.hpp"

using Catch::Matchers::Contains;
using ecsa::test::run_cmd;

TEST_CASE("lazy link: ecsa-run maps none of the lazily opened libraries at start",
          "[integration][common]") {
  // The dynamic linker's own list of what it maps for the binary, as ldd shows it.
  auto r = run_cmd({"/usr/bin/env", "LD_TRACE_LOADED_OBJECTS=1", ecsa::test::ecsa_run()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("libc.so.6"));
  for (const char* lib : {"libcurl", "libarchive", "libmnl", "libnftables", "libssl", "libnghttp2"})
    CHECK_THAT(r.out, !Contains(lib));
}

TEST_CASE("lazy link: a missing library fails only the command that needs it, clearly",
          "[integration][common]") {
  ecsa::test::TempDir tmp("ecsa-lazy");
  // A broken libcurl.so.4 first in the search path: dlopen finds it and fails on it.
  ecsa::fs::write_file_atomic(tmp.path() + "/libcurl.so.4", "");
  std::string env_path = "LD_LIBRARY_PATH=" + tmp.path();
  std::string env_state = "ECSA_STATE_DIR=" + tmp.path() + "/state";

  auto version = run_cmd({"/usr/bin/env", env_path, ecsa::test::ecsa_run(), "--version"});
  INFO(version.err);
  CHECK(version.code == 0);

  auto pull = run_cmd({"/usr/bin/env", env_path, env_state, ecsa::test::ecsa_run(), "pull",
                       "--progress", "none", "127.0.0.1:9/ecsa-lazy/missing:latest"});
  INFO(pull.out << pull.err);
  CHECK(pull.code == 1);
  CHECK_THAT(pull.err, Contains("ecsa-run: libcurl.so.4 is needed to pull images: "));
  CHECK_THAT(pull.err, Contains("libcurl.so.4: file too short"));
}

// Integration, not unit: libnftables opens a netfilter netlink socket in nft_ctx_new and
// exits the process if it cannot (as under qemu-user).
TEST_CASE("lazy shims: libmnl and libnftables reach the real libraries", "[integration][common]") {
  struct mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
  REQUIRE(nl != nullptr);
  CHECK(mnl_socket_get_fd(nl) >= 0);
  CHECK(mnl_socket_close(nl) == 0);
  struct nft_ctx* nft = nft_ctx_new(NFT_CTX_DEFAULT);
  REQUIRE(nft != nullptr);
  CHECK(nft_ctx_buffer_output(nft) == 0);
  nft_ctx_free(nft);
}
