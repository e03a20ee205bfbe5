// Status and Result<T>: how Flint reports expected failures (bad input, the environment, peers).
//
// Every failure carries a Code from one table (FLINT_STATUS_CODES) that gives its name and the
// HTTP status a client sees. A Status is cheap to copy when ok (no allocation). Bugs are not
// Statuses: they abort through FLINT_CHECK (sdk/core/check.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "sdk/core/check.h"

namespace flint {

// X(enum name, wire name, HTTP status)
#define FLINT_STATUS_CODES(X)                     \
  X(kOk, "ok", 200)                               \
  X(kInvalidArgument, "invalid_argument", 400)    \
  X(kUnauthenticated, "unauthenticated", 401)     \
  X(kNotFound, "not_found", 404)                  \
  X(kMethodNotAllowed, "method_not_allowed", 405) \
  X(kRequestTimeout, "request_timeout", 408)      \
  X(kAlreadyExists, "already_exists", 409)        \
  X(kPayloadTooLarge, "payload_too_large", 413)   \
  X(kTooManyRequests, "too_many_requests", 429)   \
  X(kHeadersTooLarge, "headers_too_large", 431)   \
  X(kInternal, "internal", 500)                   \
  X(kFunctionError, "function_error", 500)        \
  X(kFunctionCrashed, "function_crashed", 502)    \
  X(kUnavailable, "unavailable", 503)             \
  X(kFunctionTimeout, "function_timeout", 504)    \
  X(kIo, "io_error", 500)

enum class Code : uint8_t {
#define FLINT_X(name, str, http) name,
  FLINT_STATUS_CODES(FLINT_X)
#undef FLINT_X
};

// The wire name of a code, e.g. "not_found".
std::string_view CodeName(Code code);
// The HTTP status a client sees for a code.
int CodeHttpStatus(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not_found: function 'x' does not exist"
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return Status(Code::kInvalidArgument, std::move(m));
}
inline Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
inline Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }
inline Status IoError(std::string m) { return Status(Code::kIo, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(Code::kUnavailable, std::move(m)); }
// An IoError naming the failed operation and errno's text: "open /x: No such file or directory";
// Unavailable for ENOSPC, EDQUOT and EROFS (a full or read-only file system: retry later).
Status ErrnoStatus(std::string_view what, int err);

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    FLINT_CHECK(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & {
    FLINT_CHECK(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    FLINT_CHECK(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    FLINT_CHECK(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Returns early from the enclosing function when `expr` (a Status) is not ok.
#define FLINT_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::flint::Status flint_status_ = (expr);        \
    if (!flint_status_.ok()) return flint_status_; \
  } while (0)

// Evaluates `expr` (a Result<T>) and returns its Status from the enclosing function when it is
// not ok; else moves its value into `lhs`, a declaration (`auto x`, `std::string x`) or an
// existing variable. Expands to several statements, so `lhs` stays in scope after it: never use
// it as the body of an unbraced if or loop. `lhs` may not contain commas.
//   FLINT_ASSIGN_OR_RETURN(auto store, Store::Open(dir));
#define FLINT_ASSIGN_OR_RETURN(lhs, expr) \
  FLINT_ASSIGN_OR_RETURN_IMPL_(FLINT_STATUS_CONCAT_(flint_result_, __LINE__), lhs, expr)
#define FLINT_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                 \
  if (!result.ok()) return result.status();             \
  lhs = std::move(result).value()
#define FLINT_STATUS_CONCAT_(a, b) FLINT_STATUS_CONCAT_INNER_(a, b)
#define FLINT_STATUS_CONCAT_INNER_(a, b) a##b

}  // namespace flint
