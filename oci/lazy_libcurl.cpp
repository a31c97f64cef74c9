// libcurl, opened on the first call: only pulling images talks HTTP, and linking libcurl
// directly would make every `run` map it with OpenSSL, nghttp2, ldap, kerberos and more.
// Defines each libcurl function ecsa uses as a forwarder (common/lazy_library.hpp).
#include <curl/curl.h>

#include <cstdarg>

#include "common/lazy_library.hpp"

namespace {

ecsa::LazyLibrary& libcurl() {
  static ecsa::LazyLibrary lib("libcurl.so.4", "to pull images");
  return lib;
}

// curl's setopt functions take exactly one argument after the option, whose type follows
// from the option's number range (CURLOPTTYPE_* in curl.h; CURLMOPT_* use the same bases).
// The argument must be read with that type and passed on with it.
template <typename Ret, typename Handle, typename Option>
Ret forward_option(Ret (*real)(Handle*, Option, ...), Handle* h, Option option, va_list ap) {
  long number = static_cast<long>(option);
  if (number < CURLOPTTYPE_OBJECTPOINT) return real(h, option, va_arg(ap, long));
  if (number < CURLOPTTYPE_FUNCTIONPOINT) return real(h, option, va_arg(ap, void*));
  if (number < CURLOPTTYPE_OFF_T) {
    using AnyFunction = void (*)();
    return real(h, option, va_arg(ap, AnyFunction));
  }
  if (number < CURLOPTTYPE_BLOB) return real(h, option, va_arg(ap, curl_off_t));
  return real(h, option, va_arg(ap, struct curl_blob*));
}

}  // namespace

ECSA_LAZY_FORWARD(libcurl(), CURLcode, curl_global_init, (long flags), (flags))
ECSA_LAZY_FORWARD(libcurl(), char*, curl_version, (void), ())
ECSA_LAZY_FORWARD(libcurl(), void, curl_free, (void* p), (p))
ECSA_LAZY_FORWARD(libcurl(), const char*, curl_easy_strerror, (CURLcode code), (code))

ECSA_LAZY_FORWARD(libcurl(), CURL*, curl_easy_init, (void), ())
ECSA_LAZY_FORWARD(libcurl(), CURLcode, curl_easy_perform, (CURL * curl), (curl))
ECSA_LAZY_FORWARD(libcurl(), void, curl_easy_cleanup, (CURL * curl), (curl))

extern "C" CURLcode(curl_easy_setopt)(CURL* curl, CURLoption option, ...) {
  static auto* const real = libcurl().function<decltype(curl_easy_setopt)>("curl_easy_setopt");
  va_list ap;
  va_start(ap, option);
  CURLcode rc = forward_option(real, curl, option, ap);
  va_end(ap);
  return rc;
}

// Every CURLINFO_* takes a pointer to where the value goes.
extern "C" CURLcode(curl_easy_getinfo)(CURL* curl, CURLINFO info, ...) {
  static auto* const real = libcurl().function<decltype(curl_easy_getinfo)>("curl_easy_getinfo");
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return real(curl, info, out);
}

ECSA_LAZY_FORWARD(libcurl(), struct curl_slist*, curl_slist_append,
                  (struct curl_slist * list, const char* data), (list, data))
ECSA_LAZY_FORWARD(libcurl(), void, curl_slist_free_all, (struct curl_slist * list), (list))

ECSA_LAZY_FORWARD(libcurl(), CURLU*, curl_url, (void), ())
ECSA_LAZY_FORWARD(libcurl(), void, curl_url_cleanup, (CURLU * handle), (handle))
ECSA_LAZY_FORWARD(libcurl(), CURLUcode, curl_url_get,
                  (CURLU * handle, CURLUPart what, char** part, unsigned int flags),
                  (handle, what, part, flags))
ECSA_LAZY_FORWARD(libcurl(), CURLUcode, curl_url_set,
                  (CURLU * handle, CURLUPart what, const char* part, unsigned int flags),
                  (handle, what, part, flags))
