// libnftables, opened on the first call: only bridge networking (port mappings, masquerade)
// installs nftables rules; `run` without networking should not map it and its
// dependencies. Defines each libnftables function ecsa uses as a forwarder
// (common/lazy_library.hpp).
#include <nftables/libnftables.h>

#include "common/lazy_library.hpp"

namespace {

ecsa::LazyLibrary& libnftables() {
  static ecsa::LazyLibrary lib("libnftables.so.1", "for nftables rules (bridge networking)");
  return lib;
}

}  // namespace

ECSA_LAZY_FORWARD(libnftables(), struct nft_ctx*, nft_ctx_new, (uint32_t flags), (flags))
ECSA_LAZY_FORWARD(libnftables(), void, nft_ctx_free, (struct nft_ctx * ctx), (ctx))
ECSA_LAZY_FORWARD(libnftables(), void, nft_ctx_output_set_flags,
                  (struct nft_ctx * ctx, unsigned int flags), (ctx, flags))
ECSA_LAZY_FORWARD(libnftables(), int, nft_ctx_buffer_output, (struct nft_ctx * ctx), (ctx))
ECSA_LAZY_FORWARD(libnftables(), const char*, nft_ctx_get_output_buffer, (struct nft_ctx * ctx),
                  (ctx))
ECSA_LAZY_FORWARD(libnftables(), int, nft_ctx_buffer_error, (struct nft_ctx * ctx), (ctx))
ECSA_LAZY_FORWARD(libnftables(), const char*, nft_ctx_get_error_buffer, (struct nft_ctx * ctx),
                  (ctx))
ECSA_LAZY_FORWARD(libnftables(), int, nft_run_cmd_from_buffer,
                  (struct nft_ctx * nft, const char* buf), (nft, buf))
