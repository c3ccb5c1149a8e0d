#include "base/result.h"

#include <cstdio>
#include <cstring>

namespace runbox {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kPermissionDenied: return "permission denied";
    case ErrorCode::kResourceExhausted: return "resource exhausted";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "unknown";
}

Error MakeError(ErrorCode code, std::string message) {
  return Error{code, 0, std::move(message)};
}

Error ErrnoError(std::string what, int err) {
  ErrorCode code = ErrorCode::kInternal;
  switch (err) {
    case ENOENT: code = ErrorCode::kNotFound; break;
    case EPERM:
    case EACCES:
    case EROFS: code = ErrorCode::kPermissionDenied; break;
    case ENOSPC:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EAGAIN:
    case EDQUOT: code = ErrorCode::kResourceExhausted; break;
    case ENOSYS:
    case EOPNOTSUPP:
    case ENODEV: code = ErrorCode::kUnavailable; break;
    case EINVAL: code = ErrorCode::kInvalidArgument; break;
    default: break;
  }
  return Error{code, err, std::move(what) + ": " + std::strerror(err)};
}

namespace internal {
void CheckFailed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "runbox: internal check failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}
}  // namespace internal

}  // namespace runbox
