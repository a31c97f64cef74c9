// ecsa's use of libnftables: scripts applied as one transaction each, and JSON listings.
#pragma once
#include <string>

struct nft_ctx;

namespace ecsa::net {

// Whether chain `chain` of table `table` (family ip) exists: one netlink round trip,
// without libnftables' cache of the whole ruleset.
bool nft_ip_chain_exists(const std::string& table, const std::string& chain);

class Nft {
 public:
  Nft();
  ~Nft();
  // One context for the whole process, never closed before exit. Closing a netfilter
  // socket right after a commit waits for the kernel's deferred release of the
  // transaction (an RCU grace period, ~10 ms here), which a fresh context per call puts on
  // every setup and teardown. Callers hold the network state lock, which also serializes
  // threads (each lock is its own open file description).
  static Nft& shared();
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
