// ecsa's use of libnftables: scripts applied as one transaction each, and JSON listings.
#pragma once
#include <string>

struct nft_ctx;

namespace ecsa::net {

class Nft {
 public:
  Nft();
  ~Nft();
  Nft(const Nft&) = delete;
  Nft& operator=(const Nft&) = delete;

  // Applies `script` atomically (libnftables sends one batch per buffer). On failure throws
  // Error("<what>: <nft's error text>") and nothing of the script is applied.
  void apply(const std::string& script, const std::string& what);
  // Like apply, but returns false and the error text instead of throwing.
  bool try_apply(const std::string& script, std::string* err = nullptr);
  // Runs a list command; returns its JSON output, or "" if the object does not exist.
  std::string list_json(const std::string& command);

 private:
  nft_ctx* ctx_ = nullptr;
};

}  // namespace ecsa::net
