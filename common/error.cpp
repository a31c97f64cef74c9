#include "common/error.hpp"

#include <cstring>
#include <exception>

namespace ecsa {

std::string errno_message(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

void throw_errno(const std::string& what, int err) { throw Error(errno_message(what, err)); }

void rethrow_with_context(const std::string& context) {
  try {
    throw;
  } catch (const std::exception& e) {
    throw Error(context + ": " + e.what());
  }
}

}  // namespace ecsa
