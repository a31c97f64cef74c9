// Linux capability names as a task definition writes them ("NET_ADMIN", "ALL") and the
// set a container ends up with by Docker's rules (default set, drop, add, privileged).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace ecsa::ecs {

// "net_admin", "CAP_NET_ADMIN", "NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL";
// std::nullopt for an unknown name.
std::optional<std::string> normalize_capability(const std::string& name);

// Docker's default capability set for non-privileged containers.
const std::vector<std::string>& docker_default_capabilities();
// Every capability ecsa knows (CAP_CHOWN .. CAP_CHECKPOINT_RESTORE).
const std::vector<std::string>& all_capabilities();

// Docker's rule: privileged -> all; add contains ALL -> all but the dropped ones;
// drop contains ALL -> only the added ones; else default - drop + add.
std::vector<std::string> effective_capabilities(const std::vector<std::string>& add,
                                                const std::vector<std::string>& drop,
                                                bool privileged);

}  // namespace ecsa::ecs
