// AWS credentials for signing ECR API calls, from (in order) the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the shared credentials
// file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or default;
// re-read when it changes, as the SSM agent rotates it every 30 minutes on ECS Anywhere),
// then the container credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI or
// http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).
#pragma once
#include <optional>
#include <string>

namespace ecsa::oci {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials
  std::string source;         // "environment", the file path, the endpoint URL
};

AwsCredentials aws_credentials();

// Profile `profile` of an INI credentials file's text; nullopt when absent.
std::optional<AwsCredentials> parse_shared_credentials(const std::string& text,
                                                       const std::string& profile,
                                                       const std::string& source);

}  // namespace ecsa::oci
