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

// The non-empty lines of a command's output.
std::vector<std::string> split_lines(const std::string& s);

// ecsa-run with a store, runtime root, bridge and subnet of the test's own (bridge
// <bridge_prefix><pid>, subnet 10.<subnet_octet>.<pid % 250>.0/24), so that tests and test
// runs never share state. The owner removes what it made (containers, tasks); the
// destructor resets the network and removes the directory.
class IsolatedEcsa {
 public:
  IsolatedEcsa(const std::string& tmp_prefix, const std::string& bridge_prefix, int subnet_octet);
  ~IsolatedEcsa();
  IsolatedEcsa(const IsolatedEcsa&) = delete;
  IsolatedEcsa& operator=(const IsolatedEcsa&) = delete;

  CmdResult ecsa(std::vector<std::string> args) const;

  TempDir dir;
  std::string state;   // ECSA_STATE_DIR
  std::string root;    // the runtime's --root
  std::string bridge;  // ECSA_BRIDGE
  std::string subnet;  // ECSA_SUBNET
};

}  // namespace ecsa::test
