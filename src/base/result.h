#pragma once
// Result<T> / Status: how runbox reports failures without exceptions.
// The API mirrors std::expected (C++23), so moving to it later is a rename.

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace runbox {

enum class ErrorCode {
  kInvalidArgument,    // the caller's input is wrong (bad size, unknown option, missing file)
  kNotFound,           // a named thing does not exist
  kPermissionDenied,   // the host does not let runbox do it (not root, no delegation)
  kResourceExhausted,  // no free slot, disk full, queue full
  kUnavailable,        // a kernel feature or controller is missing on this host
  kInternal,           // a syscall failed where it should not have
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  int sys_errno = 0;     // errno of the failing syscall, or 0
  std::string message;   // "mount tmpfs on /tmp: Operation not permitted"

  // Prefixes context on the way up: "create cgroup: " + message.
  Error&& Wrap(const std::string& context) && {
    message = context + ": " + message;
    return std::move(*this);
  }
};

Error MakeError(ErrorCode code, std::string message);
// An Error from a failed syscall: "<what>: <strerror(err)>", code derived from err.
Error ErrnoError(std::string what, int err = errno);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;
inline Status OkStatus() { return {}; }

}  // namespace runbox

#define RUNBOX_CONCAT_INNER_(a, b) a##b
#define RUNBOX_CONCAT_(a, b) RUNBOX_CONCAT_INNER_(a, b)

// RUNBOX_TRY(expr): returns the error of a failed Status/Result from the enclosing function.
#define RUNBOX_TRY(expr)                                         \
  do {                                                           \
    auto&& runbox_try_result_ = (expr);                          \
    if (!runbox_try_result_) {                                   \
      return std::move(runbox_try_result_).error();              \
    }                                                            \
  } while (0)

// RUNBOX_ASSIGN_OR_RETURN(lhs, expr): lhs = *expr, or return its error.
#define RUNBOX_ASSIGN_OR_RETURN(lhs, expr) \
  RUNBOX_ASSIGN_OR_RETURN_IMPL_(RUNBOX_CONCAT_(runbox_aor_, __LINE__), lhs, expr)
#define RUNBOX_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) {                                         \
    return std::move(tmp).error();                    \
  }                                                   \
  lhs = std::move(tmp).value()

// Invariant checks: a broken invariant is a bug, so abort. Never for user or kernel input.
#define RUNBOX_CHECK(cond)                                                        \
  do {                                                                            \
    if (!(cond)) {                                                                \
      ::runbox::internal::CheckFailed(#cond, __FILE__, __LINE__);                 \
    }                                                                             \
  } while (0)

namespace runbox::internal {
[[noreturn]] void CheckFailed(const char* cond, const char* file, int line);
}
