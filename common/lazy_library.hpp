// A shared library opened on first use. Only `pull` needs libcurl/libarchive and only
// bridge networking needs libmnl/libnftables; linking them normally makes the dynamic
// linker map ~20 libraries (OpenSSL, nghttp2, ldap, kerberos...) on every `run`, which
// costs milliseconds and megabytes on the container start path. The shims in
// oci/lazy_lib*.cpp and net/lazy_lib*.cpp define the functions ecsa uses and forward
// them through a LazyLibrary.
#pragma once
#include <mutex>
#include <string>

namespace ecsa {

class LazyLibrary {
 public:
  // `soname` as the dynamic linker would look it up ("libcurl.so.4"); `needed_for`
  // completes "<soname> is needed ..." in the error message ("to pull images").
  LazyLibrary(const char* soname, const char* needed_for)
      : soname_(soname), needed_for_(needed_for) {}
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  // dlopen(soname, RTLD_NOW | RTLD_LOCAL), once for all threads (under a mutex). A failure is
  // remembered and thrown again on every call as Error("<soname> is needed <needed_for>:
  // <dlerror>"). Throwing (rather than aborting) is safe: the first call into a library cannot come
  // from that library's own callbacks, and ecsa's callbacks that reach another library
  // catch everything (curl's body callback hands data to libarchive's worker thread,
  // whose run() catches). So the Error ends up as "ecsa-run: <message>" from main and
  // the command's cleanup runs.
  void* handle();

  // The address of `name` in the library. Throws Error naming the soname and the symbol
  // if the library cannot be loaded or lacks the symbol (an older version).
  void* symbol(const char* name);

  // symbol() as a pointer to a function of type Fn, e.g. function<decltype(curl_version)>.
  template <typename Fn>
  Fn* function(const char* name) {
    return reinterpret_cast<Fn*>(symbol(name));
  }

  const char* soname() const { return soname_; }

 private:
  const char* soname_;
  const char* needed_for_;
  std::mutex mu_;
  bool tried_ = false;
  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace ecsa

// Defines the C function `name` (declared by the library's own header, which must be
// included first: a parameter list that differs from the header's is a compile error)
// as a forwarder to the real one, resolved on the first call and cached. `lib` is an
// expression giving the LazyLibrary&; `params` is the parenthesised parameter list and
// `args` the parenthesised argument names. The name is parenthesised so that function-like
// macros of the same name (curl.h has some) do not expand.
#define ECSA_LAZY_FORWARD(lib, ret, name, params, args)              \
  extern "C" ret(name) params {                                      \
    static auto* const real = (lib).function<decltype(name)>(#name); \
    return real args;                                                \
  }
