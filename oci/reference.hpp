// Image references as Docker writes them ("busybox", "ghcr.io/a/b:1.0",
// "localhost:5000/x@sha256:...") parsed and normalised: docker.io default registry,
// library/ for official images, tag "latest" when neither tag nor digest is given.
#pragma once
#include <string>
#include <string_view>

namespace ecsa::oci {

struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when pulled by digest only
  std::string digest;  // "sha256:..." or empty

  // "docker.io/library/busybox"
  std::string name() const;
  // Fully qualified: "docker.io/library/busybox:latest", "...@sha256:...", or both.
  std::string str() const;
  // What the manifest request asks for: the digest if any, else the tag.
  std::string manifest_ref() const { return digest.empty() ? tag : digest; }
  // Host[:port] to connect to: docker.io is served by registry-1.docker.io.
  std::string registry_host() const;
};

// Parses and normalises; errors quote the input and say what is wrong.
Reference parse_reference(std::string_view ref);

}  // namespace ecsa::oci
