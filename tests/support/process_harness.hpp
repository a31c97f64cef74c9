// Test support: run commands (above all the built ecsa-run) and make OCI bundles from the
// busybox fixture, each in its own temporary directory that the test removes.
#pragma once
#include <string>
#include <vector>

#include "common/json_node.hpp"

namespace ecsa::test {

struct CmdResult {
  int code = -1;  // exit status, or 128+signal
  std::string out, err;
};

// Runs argv[0] (a path) with its output captured; `input` is written to its stdin.
CmdResult run_cmd(const std::vector<std::string>& argv, const std::string& input = "");

// Path of the built ecsa-run ($ECSA_RUN) and of the fixtures ($ECSA_FIXTURES).
std::string ecsa_run();
std::string fixtures_dir();

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ecsa-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An OCI bundle whose root is the shared busybox fixture rootfs (read-only), with the
// fixture's config.json to modify before write(). Runs containers with its own --root.
class Bundle {
 public:
  Bundle();
  json::Json config;
  std::string dir() const { return tmp_.path() + "/bundle"; }
  std::string state_root() const { return tmp_.path() + "/state"; }
  std::string scratch() const { return tmp_.path() + "/scratch"; }  // free for the test's files
  std::string id() const { return id_; }
  void set_args(const std::vector<std::string>& args);
  void write() const;
  // ecsa-runc --root <state_root> <args...>
  CmdResult oci(const std::vector<std::string>& args, const std::string& input = "") const;
  // `run` of this bundle in the foreground with its unique id.
  CmdResult run() const;

 private:
  TempDir tmp_;
  std::string id_;
};

// GET http://127.0.0.1:<port><path> over a plain socket; returns the body, "" on any failure.
std::string http_get_local(int port, const std::string& path = "/", int timeout_ms = 2000);

// Unique container id for this test process.
std::string unique_id(const std::string& prefix);

}  // namespace ecsa::test
