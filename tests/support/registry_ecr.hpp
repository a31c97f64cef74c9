// A stand-in for the ECR API on https://127.0.0.1:PORT/ that checks each
// GetAuthorizationToken call's SigV4 signature with botocore (an independent signer,
// Debian's python3-botocore) against the access key and secret it was given, and answers
// with an authorization token for user "AWS". Every call is logged for the test to inspect.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace ecsa::test {

struct EcrEndpointOptions {
  std::string access_key_id = "AKIDECSATEST0000001";
  std::string secret = "ecsa/test+secret/key0000000000000000000";
  std::string session_token;       // required (and signed) when set
  std::string password = "ecr-token-password";  // what the token decodes to: AWS:<password>
};

class EcrTokenEndpoint {
 public:
  explicit EcrTokenEndpoint(EcrEndpointOptions opts = {});
  ~EcrTokenEndpoint();
  EcrTokenEndpoint(const EcrTokenEndpoint&) = delete;
  EcrTokenEndpoint& operator=(const EcrTokenEndpoint&) = delete;

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string ca_file() const { return dir_ + "/ca.pem"; }
  const std::string& dir() const { return dir_; }
  // One line per call: "ok <region> <registryIds>" or "denied <reason>".
  std::vector<std::string> calls() const;

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

bool botocore_available();

}  // namespace ecsa::test
