#include "oci/progress.hpp"

#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/error.hpp"

namespace ecsa::oci {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct LayerState {
  std::string status;
  int64_t current = 0, total = -1;
  Clock::time_point start = Clock::now(), last_emit{};
  bool started = false;
};

class NoProgress : public Progress {
 public:
  void message(const std::string&, const std::string&) override {}
  void layer(const std::string&, const std::string&) override {}
  void bytes(const std::string&, int64_t, int64_t) override {}
};

class JsonProgress : public Progress {
 public:
  explicit JsonProgress(FILE* out) : out_(out) {}
  void message(const std::string& id, const std::string& status) override {
    nlohmann::json j = {{"status", status}};
    if (!id.empty()) j["id"] = id;
    emit(j);
  }
  void layer(const std::string& id, const std::string& status) override {
    emit({{"status", status}, {"progressDetail", nlohmann::json::object()}, {"id", id}});
  }
  void bytes(const std::string& id, int64_t current, int64_t total) override {
    std::lock_guard<std::mutex> lk(mu_);
    auto& st = layers_[id];
    // At most ~5 lines a second per layer, and always the last one.
    if (current != total && seconds_since(st.last_emit) < 0.2) return;
    st.last_emit = Clock::now();
    nlohmann::json detail = {{"current", current}};
    if (total >= 0) detail["total"] = total;
    write_locked({{"status", "Downloading"}, {"progressDetail", detail}, {"id", id}});
  }

 private:
  void emit(const nlohmann::json& j) {
    std::lock_guard<std::mutex> lk(mu_);
    write_locked(j);
  }
  void write_locked(const nlohmann::json& j) {
    std::string line = j.dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), out_);
    std::fflush(out_);
  }
  FILE* out_;
  std::mutex mu_;
  std::map<std::string, LayerState> layers_;
};

std::string layer_line(const std::string& id, const LayerState& st) {
  std::string line = id + ": " + st.status;
  if (st.status == "Downloading" || st.status == "Download complete" ||
      st.status == "Pull complete") {
    if (st.current > 0 || st.total > 0) {
      line += " " + human_size(double(st.current));
      if (st.total >= 0) line += "/" + human_size(double(st.total));
      double s = seconds_since(st.start);
      if (s > 0.05 && st.current > 0) line += " " + human_size(double(st.current) / s) + "/s";
    }
  }
  return line;
}

// One line per event; byte counts only every few seconds, so logs stay readable.
class PlainProgress : public Progress {
 public:
  explicit PlainProgress(FILE* out) : out_(out) {}
  void message(const std::string& id, const std::string& status) override {
    std::lock_guard<std::mutex> lk(mu_);
    print(id.empty() ? status : id + ": " + status);
  }
  void layer(const std::string& id, const std::string& status) override {
    std::lock_guard<std::mutex> lk(mu_);
    auto& st = layers_[id];
    st.status = status;
    print(layer_line(id, st));
  }
  void bytes(const std::string& id, int64_t current, int64_t total) override {
    std::lock_guard<std::mutex> lk(mu_);
    auto& st = layers_[id];
    if (!st.started) {
      st.started = true;
      st.start = st.last_emit = Clock::now();
    }
    st.status = "Downloading";
    st.current = current;
    st.total = total;
    if (seconds_since(st.last_emit) < 5) return;
    st.last_emit = Clock::now();
    print(layer_line(id, st));
  }

 private:
  void print(const std::string& s) {
    std::fprintf(out_, "%s\n", s.c_str());
    std::fflush(out_);
  }
  FILE* out_;
  std::mutex mu_;
  std::map<std::string, LayerState> layers_;
};

// Layers keep their line; a change rewrites that line in place with ANSI cursor moves.
class TtyProgress : public Progress {
 public:
  explicit TtyProgress(FILE* out) : out_(out) {}
  void message(const std::string& id, const std::string& status) override {
    std::lock_guard<std::mutex> lk(mu_);
    // Messages go below the layer lines and push them up, so the table restarts.
    std::fprintf(out_, "%s\n", (id.empty() ? status : id + ": " + status).c_str());
    order_.clear();
    layers_.clear();
    std::fflush(out_);
  }
  void layer(const std::string& id, const std::string& status) override {
    std::lock_guard<std::mutex> lk(mu_);
    auto& st = state(id);
    st.status = status;
    redraw(id);
  }
  void bytes(const std::string& id, int64_t current, int64_t total) override {
    std::lock_guard<std::mutex> lk(mu_);
    auto& st = state(id);
    if (!st.started) {
      st.started = true;
      st.start = Clock::now();
    }
    st.status = "Downloading";
    st.current = current;
    st.total = total;
    if (current != total && seconds_since(st.last_emit) < 0.1) return;
    st.last_emit = Clock::now();
    redraw(id);
  }

 private:
  LayerState& state(const std::string& id) {
    if (!layers_.count(id)) {
      order_.push_back(id);
      std::fprintf(out_, "%s: \n", id.c_str());
    }
    return layers_[id];
  }
  void redraw(const std::string& id) {
    size_t idx = 0;
    while (idx < order_.size() && order_[idx] != id) ++idx;
    size_t up = order_.size() - idx;
    std::fprintf(out_, "\x1b[%zuA\r\x1b[2K%s\x1b[%zuB\r", up, layer_line(id, layers_[id]).c_str(),
                 up);
    std::fflush(out_);
  }
  FILE* out_;
  std::mutex mu_;
  std::vector<std::string> order_;
  std::map<std::string, LayerState> layers_;
};

}  // namespace

ProgressMode parse_progress_mode(const std::string& s) {
  if (s == "auto") return ProgressMode::automatic;
  if (s == "plain") return ProgressMode::plain;
  if (s == "json") return ProgressMode::json;
  if (s == "none") return ProgressMode::none;
  throw Error("--progress: unknown mode \"" + s + "\" (expected auto, plain, json or none)");
}

std::unique_ptr<Progress> Progress::create(ProgressMode mode, FILE* out) {
  switch (mode) {
    case ProgressMode::none: return std::make_unique<NoProgress>();
    case ProgressMode::json: return std::make_unique<JsonProgress>(out);
    case ProgressMode::plain: return std::make_unique<PlainProgress>(out);
    case ProgressMode::automatic:
      if (isatty(fileno(out))) return std::make_unique<TtyProgress>(out);
      return std::make_unique<PlainProgress>(out);
  }
  return std::make_unique<NoProgress>();
}

std::string human_size(double b) {
  static const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f%s", b, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.3g%s", b, units[u]);
  return buf;
}

std::string short_id(const std::string& digest) {
  auto colon = digest.find(':');
  std::string hex = colon == std::string::npos ? digest : digest.substr(colon + 1);
  return hex.substr(0, 12);
}

}  // namespace ecsa::oci
