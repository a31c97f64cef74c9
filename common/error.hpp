// Errors that carry what failed, on which path, and the errno text, up the stack.
#pragma once
#include <cerrno>
#include <stdexcept>
#include <string>

namespace ecsa {

// Every failure in ecsa is an Error whose message reads "<what>: <why>", so the
// CLI can print it as one line "ecsa-run: <what>: <why>".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

// "<what>: <strerror(err)>"
std::string errno_message(const std::string& what, int err);

// Throws Error("<what>: <strerror(err)>"). `what` should name the step and the path.
[[noreturn]] void throw_errno(const std::string& what, int err = errno);

// Prefixes the message of the exception in flight with `context: ` and rethrows it
// as an Error. Use inside a catch block.
[[noreturn]] void rethrow_with_context(const std::string& context);

}  // namespace ecsa
