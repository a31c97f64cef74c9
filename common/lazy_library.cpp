#include "common/lazy_library.hpp"

#include <dlfcn.h>

#include "common/error.hpp"

namespace ecsa {

void* LazyLibrary::handle() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!tried_) {
    tried_ = true;
    // RTLD_LOCAL: the library's symbols must not interpose on anything else in the
    // process (in particular not on the shims that forward to it).
    handle_ = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* why = dlerror();
      error_ =
          std::string(soname_) + " is needed " + needed_for_ + ": " + (why ? why : "dlopen failed");
    }
  }
  if (!handle_) throw Error(error_);
  return handle_;
}

void* LazyLibrary::symbol(const char* name) {
  void* h = handle();
  dlerror();  // clear a stale error: a symbol's value may legitimately be null
  void* p = dlsym(h, name);
  if (!p) {
    const char* why = dlerror();
    throw Error(std::string(soname_) + ": symbol " + name + " not found (needed " + needed_for_ +
                "; is the library older than the one ecsa was built against?): " +
                (why ? why : "null address"));
  }
  return p;
}

}  // namespace ecsa
