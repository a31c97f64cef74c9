#include "net/nft.hpp"

#include <nftables/libnftables.h>

#include "common/error.hpp"

namespace ecsa::net {
namespace {
std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

Nft::Nft() {
  ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx_) throw Error("nftables: cannot create a libnftables context");
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
}

Nft::~Nft() {
  nft_ctx_free(ctx_);
}

bool Nft::try_apply(const std::string& script, std::string* err) {
  nft_ctx_output_set_flags(ctx_, 0);
  int rc = nft_run_cmd_from_buffer(ctx_, script.c_str());
  // Reading the buffers also resets them for the next command.
  std::string e = trim(nft_ctx_get_error_buffer(ctx_));
  nft_ctx_get_output_buffer(ctx_);
  if (rc == 0) return true;
  if (err) *err = e.empty() ? "nftables command failed" : e;
  return false;
}

void Nft::apply(const std::string& script, const std::string& what) {
  std::string err;
  if (!try_apply(script, &err)) throw Error(what + ": " + err);
}

std::string Nft::list_json(const std::string& command) {
  nft_ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON);
  int rc = nft_run_cmd_from_buffer(ctx_, command.c_str());
  std::string out = nft_ctx_get_output_buffer(ctx_);
  nft_ctx_get_error_buffer(ctx_);
  nft_ctx_output_set_flags(ctx_, 0);
  return rc == 0 ? out : std::string();
}

}  // namespace ecsa::net
