// The shims (oci/lazy_lib*.cpp, net/lazy_lib*.cpp) forward to the real libraries,
// including curl's and libarchive's variadic functions, whose extra argument must arrive
// with its type intact.
#include <archive.h>
#include <curl/curl.h>
#include <libmnl/libmnl.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <string>

#include "common/fs.hpp"
#include "common/lazy_library.hpp"

using Catch::Matchers::StartsWith;

TEST_CASE("lazy shims: version functions reach the real libraries", "[unit][common]") {
  CHECK_THAT(std::string(curl_version()), StartsWith("libcurl/"));
  CHECK_THAT(std::string(archive_version_string()), StartsWith("libarchive "));
}

namespace {
size_t collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}
}  // namespace

TEST_CASE("lazy shims: curl_easy_setopt and curl_easy_getinfo pass each argument type",
          "[unit][common]") {
  char tmpl[] = "/tmp/ecsa-lazy-curl-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  std::string file = dir + "/body";
  ecsa::fs::write_file_atomic(file, "0123456789");
  CURL* c = curl_easy_init();
  REQUIRE(c != nullptr);
  std::string body;
  int marker = 0;
  std::string url = "file://" + file;
  CHECK(curl_easy_setopt(c, CURLOPT_URL, url.c_str()) == CURLE_OK);                  // string
  CHECK(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK);                      // long
  CHECK(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect) == CURLE_OK);            // function
  CHECK(curl_easy_setopt(c, CURLOPT_WRITEDATA, &body) == CURLE_OK);                  // pointer
  CHECK(curl_easy_setopt(c, CURLOPT_PRIVATE, &marker) == CURLE_OK);                  // pointer
  CHECK(curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, curl_off_t(4)) == CURLE_OK);  // off_t
  CHECK(curl_easy_perform(c) == CURLE_OK);
  CHECK(body == "456789");
  int* got_marker = nullptr;
  CHECK(curl_easy_getinfo(c, CURLINFO_PRIVATE, &got_marker) == CURLE_OK);
  CHECK(got_marker == &marker);
  curl_off_t downloaded = -1;
  CHECK(curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &downloaded) == CURLE_OK);
  CHECK(downloaded == 6);
  // The same setting as a long: its value must arrive intact too.
  CHECK(curl_easy_setopt(c, CURLOPT_RESUME_FROM, 7L) == CURLE_OK);
  body.clear();
  CHECK(curl_easy_perform(c) == CURLE_OK);
  CHECK(body == "789");
  CHECK(std::string(curl_easy_strerror(CURLE_OK)) == "No error");
  curl_easy_cleanup(c);
  ecsa::fs::remove_all(dir);
}

namespace {
la_ssize_t failing_read(struct archive* a, void*, const void**) {
  archive_set_error(a, EIO, "layer %s broke at byte %d", "sha256:abc", 512);
  return -1;
}
}  // namespace

TEST_CASE("lazy shims: archive_set_error formats its printf arguments", "[unit][common]") {
  struct archive* a = archive_read_new();
  REQUIRE(a != nullptr);
  archive_read_support_format_raw(a);
  CHECK(archive_read_open(a, nullptr, nullptr, failing_read, nullptr) != ARCHIVE_OK);
  CHECK(std::string(archive_error_string(a)) == "layer sha256:abc broke at byte 512");
  CHECK(archive_errno(a) == EIO);
  archive_read_free(a);
}

TEST_CASE("lazy shims: libmnl builds and parses a message", "[unit][common]") {
  alignas(4) char buf[256] = {};
  struct nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  mnl_nlmsg_put_extra_header(nlh, 4);
  mnl_attr_put_u32(nlh, 3, 0xdeadbeef);
  mnl_attr_put_strz(nlh, 5, "ecsa0");
  uint32_t got_u32 = 0;
  std::string got_str;
  struct Out {
    uint32_t* u32;
    std::string* str;
  } out{&got_u32, &got_str};
  auto cb = [](const struct nlattr* attr, void* data) -> int {
    auto* o = static_cast<Out*>(data);
    if (mnl_attr_get_type(attr) == 3) *o->u32 = mnl_attr_get_u32(attr);
    if (mnl_attr_get_type(attr) == 5) *o->str = mnl_attr_get_str(attr);
    return MNL_CB_OK;
  };
  CHECK(mnl_attr_parse(nlh, 4, cb, &out) == MNL_CB_OK);
  CHECK(got_u32 == 0xdeadbeef);
  CHECK(got_str == "ecsa0");
}

// nft_ctx_new needs a netfilter netlink socket (tests/integration/common_lazy_link.cpp
// calls it); here only the library's loading is checked, which also works under qemu.
TEST_CASE("lazy shims: libnftables.so.1 loads", "[unit][common]") {
  ecsa::LazyLibrary lib("libnftables.so.1", "for nftables rules (bridge networking)");
  CHECK(lib.symbol("nft_run_cmd_from_buffer") != nullptr);
}
