// Pull progress for people and programs: on a terminal one line per layer redrawn in place
// (bytes, total, speed); `plain` a line per event; `json` Docker-style JSON lines
// {"status","id","progressDetail":{"current","total"}} as `docker pull` streams them;
// `none` nothing. Safe to call from the download threads.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace ecsa::oci {

enum class ProgressMode { automatic, plain, json, none };
ProgressMode parse_progress_mode(const std::string& s);  // auto|plain|json|none

class Progress {
 public:
  // automatic: tty when `out` is a terminal, else plain.
  static std::unique_ptr<Progress> create(ProgressMode mode, FILE* out = stdout);
  virtual ~Progress() = default;
  // A line not tied to a layer: "Pulling from library/busybox", "Digest: sha256:...".
  virtual void message(const std::string& id, const std::string& status) = 0;
  // A layer's state changes: "Pulling fs layer", "Already exists", "Pull complete".
  virtual void layer(const std::string& id, const std::string& status) = 0;
  // Bytes of a layer so far (throttled by the implementation).
  virtual void bytes(const std::string& id, int64_t current, int64_t total) = 0;
};

// "1.5MB" as Docker prints sizes (decimal units).
std::string human_size(double bytes);
// The short layer id Docker shows: 12 hex digits of the digest.
std::string short_id(const std::string& digest);

}  // namespace ecsa::oci
