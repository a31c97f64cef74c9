// Test registries: Debian's docker-registry (distribution 2.8) started on 127.0.0.1 with a
// temporary config and storage, plain HTTP or TLS (a throwaway CA made with openssl) with
// htpasswd Basic auth, plus the fixture images (rootfs-fixtures/images) pushed with skopeo.
// Everything lives in one temporary directory removed by the destructor, with the process.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace ecsa::test {

// The source tree (for rootfs-fixtures/): $ECSA_SRC, else the parent of $ECSA_BUILD, else ".".
std::string source_dir();
// docker-registry, skopeo, openssl, htpasswd, python3 and zstd are installed.
bool registry_tools_available();
// The fixture image layouts (busybox, multi): $ECSA_FIXTURES/images when built by
// `make fixtures`, else built once into $ECSA_BUILD/fixtures/images.
std::string oci_fixture_images();

// Runs a shell command; throws Error with its output if it fails. Returns its output
// (stdout and stderr).
std::string run_shell(const std::string& cmd);
struct ShellResult {
  int status = 0;  // exit status
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs a shell command and returns its exit status and output, separately.
ShellResult run_shell_status(const std::string& cmd);

// Writes a throwaway CA (ca.pem, ca.key) and a server certificate for 127.0.0.1 signed by
// it (server.pem, server.key) into `dir`.
void make_test_certs(const std::string& dir);

struct TestRegistryOptions {
  bool tls = false;
  std::string user;  // non-empty: htpasswd (bcrypt) Basic auth, needs tls
  std::string password;
  int port = 0;  // 0: a free port; else this one (the ECS taskdefs name 127.0.0.1:51670)
};

class TestRegistry {
 public:
  explicit TestRegistry(TestRegistryOptions opts = {});
  ~TestRegistry();
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  // Where the registry keeps a blob's bytes (filesystem driver layout).
  std::string blob_path(const std::string& digest) const;
  // Pushes busybox:latest, library/busybox:latest and multi:latest (index).
  void push_fixtures();
  // A registries.json that trusts this registry's CA; returns its path (inside dir()).
  std::string write_registries_conf(bool insecure = false) const;

 private:
  void start();
  void stop();
  TestRegistryOptions opts_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Sets an environment variable for the lifetime of the object, restoring the old value.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value);
  // Unsets the variable for the lifetime of the object.
  ScopedEnv(std::string name, std::nullptr_t);
  ~ScopedEnv();

 private:
  std::string name_;
  bool had_ = false;
  std::string old_;
};

}  // namespace ecsa::test
