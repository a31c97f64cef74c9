// Test images made on the fly for the pull tests: an OCI layout (one linux manifest for
// the host's platform, tagged "latest") written from layers built with
// tests/unit/oci_unpack_tar.hpp, and pushed to a TestRegistry with skopeo.
#pragma once
#include <string>
#include <vector>

#include "tests/support/registry.hpp"
#include "tests/unit/oci_unpack_tar.hpp"

namespace ecsa::testing {

// Writes the layout into the new directory `dir`; returns the config digest (image ID).
std::string write_oci_layout(const std::string& dir, const std::vector<TestLayer>& layers);
// skopeo copy oci:LAYOUT:latest docker://HOST/REPO:latest.
void push_oci_layout(const test::TestRegistry& reg, const std::string& layout,
                     const std::string& repo);
// A deterministic pseudo-random string: compresses a little, like binaries do.
std::string test_bytes(size_t n, unsigned seed);

}  // namespace ecsa::testing
