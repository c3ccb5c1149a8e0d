#pragma once
// Native API codec (docs/api.md): JSON <-> engine types, the error body, and the one mapping from
// runbox::Error to an HTTP status. Compatibility layers (piston.cc, judge0.cc, paiza.cc) build on
// these so that every API validates files and limits the same way.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/job.h"
#include "server/http_types.h"
#include "store/store.h"
#include "wire/result_json.h"

namespace runbox::server {

using json = nlohmann::json;

// An API error before it is rendered in one API's style.
struct ApiError {
  int status = 400;
  std::string code;     // "invalid_argument", "not_found", "limit_exceeded", ...
  std::string message;  // for a human: "files[0].name: must be a relative path without '..'"
  std::string field;    // the one field at fault, or ""
};

ApiError BadRequest(const std::string& field, const std::string& message);
ApiError LimitExceeded(const std::string& field, const std::string& message);  // 422
ApiError NotFoundError(const std::string& message);
// The mapping from runbox::Error to HTTP: kInvalidArgument 400, kNotFound 404,
// kPermissionDenied 403, kResourceExhausted 503 (queue full), kUnavailable 503, kInternal 500.
ApiError FromError(const Error& error);

// Serializes JSON for the wire (wire/result_json.h): invalid UTF-8 in program output becomes
// U+FFFD instead of failing.
using wire::Dump;
// Deepest nesting of arrays and objects a request may use. nlohmann parses iteratively, but
// copying, comparing and dumping a value recurse once per level: 100k levels of "[[[...]]]" in a
// 200 KB body overflowed the stack of the thread that touched it. No API of runbox needs more
// than 5 levels; 64 leaves room for clients that wrap requests.
inline constexpr size_t kMaxJsonDepth = 64;
// Parses JSON from outside (request bodies, WebSocket messages): the one place that does, so
// every API gets the same depth cap and messages. Never throws. On failure a 400: "the body is
// not valid JSON: ..." or "the body nests arrays/objects deeper than 64 levels" (`what` names
// the thing parsed: "the body", "the message").
bool ParseJsonBody(const std::string& body, json* out, ApiError* err,
                   const char* what = "the body");
// How deeply `text` nests arrays and objects (brackets inside strings do not count). Linear, no
// allocation; stops counting once above `limit`.
size_t JsonNestingDepth(const std::string& text, size_t limit = kMaxJsonDepth);
using wire::IsValidUtf8;

HttpResponse JsonResponse(int status, const json& body);
// Native error body: {"error": {"code", "message", "field"?}}.
HttpResponse NativeError(const ApiError& e);

struct LimitsPolicy {
  sandbox::Limits defaults;
  sandbox::Limits max;
};

// Decodes a Limits object (docs/api.md) on top of policy.defaults. `field` prefixes messages
// ("limits"). Above the maximum: 422 naming the field.
bool DecodeLimits(const json& j, const std::string& field, const LimitsPolicy& policy,
                  sandbox::Limits* out, ApiError* err);
json EncodeLimits(const sandbox::Limits& l);

// Checks one file name: relative, no "..", no empty segment, no NUL, newline or other control
// byte (0x00-0x1f, 0x7f), no backslash, at most 255 bytes.
bool ValidFileName(const std::string& name);
// What is wrong with a file name, for a message ("" when valid).
std::string FileNameProblem(const std::string& name);

// The smallest limits a box accepts (sandbox::Policy::Validate in src/sandbox/policy.cc): checked
// when a request is decoded so that the client gets a 400 naming its field, not a 200 with SE
// (which Judge0 clients retry as "Internal Error").
inline constexpr uint64_t kMinMemoryBytes = 4ull << 20;  // the loader and libc need ~4 MiB
inline constexpr uint64_t kMinDiskBytes = 4096;          // one tmpfs page
// Program arguments and compiler options of one job, together: an argv above the kernel's
// ARG_MAX (E2BIG at execve) would be the sandbox's failure, so it is refused as the client's.
inline constexpr size_t kMaxArgs = 256;
inline constexpr size_t kMaxArgBytes = 64 * 1024;
// The most files any API accepts in one job (checked before any per-file work).
inline constexpr size_t kMaxFiles = 64;

// Checks argv words from a request: no NUL (execve would cut the word there and the program
// would see other arguments than the client sent), at most kMaxArgs words and kMaxArgBytes bytes
// in `*total_bytes` across calls. 400 naming `field` ("args[2]") on failure.
bool CheckArgv(const std::vector<std::string>& words, const std::string& field,
               size_t* total_bytes, ApiError* err);

// How a number from a request compares with the range asked for.
enum class NumberCheck {
  kOk,
  kNotANumber,  // not a number (or a string that is not a plain decimal), NaN or infinite
  kBelow,       // below min
  kAbove,       // above max
};
// The one conversion of a request's number to an integer (every API, every numeric field): `v`
// is a JSON number, or with strings_ok a decimal string as forms send ("2.5", "-1", "1e3"; not
// "nan", "inf", "0x10", " 1"); it is multiplied by `scale` (seconds to ms: 1000; KiB to bytes:
// 1024), rounded to the nearest integer, and must lie in [min, max]. The range is checked on the
// double before any cast, so 1e300 or NaN never reaches an integer conversion. *out is set only
// on kOk.
NumberCheck ToBoundedInt(const json& v, double scale, int64_t min, int64_t max, bool strings_ok,
                         int64_t* out);
// Strict hex: an even number of [0-9a-fA-F], nothing else (no sign, space or prefix).
bool HexDecode(const std::string& in, std::string* out);

struct DecodeOptions {
  bool allow_tests = true;  // false for interactive runs
  size_t max_files = kMaxFiles;
  size_t max_tests = 256;
};

// Decodes a native JobRequest into a Job. 400 with the field on a bad value; 422 for limits
// above the maximum.
bool DecodeJobRequest(const json& j, const LimitsPolicy& policy, const DecodeOptions& options,
                      engine::Job* out, ApiError* err);

// A run's Result and a JobResult are encoded by wire/result_json.h alone; these are the server's
// names for its forms.
// The wire Result of one process (the WebSocket protocols send it as is).
inline json EncodeOutcome(const sandbox::Outcome& o) { return wire::EncodeResult(o); }
using wire::OverallStatus;
// The stored result (result_json): language, version, compile, compile_cached, status, cases.
// Output that is not valid UTF-8 is stored base64-encoded ("stdout_encoding": "base64") so that
// no byte is lost; RawOutput() reads it back, EncodeJobRecord() presents it as text. By value:
// the queue worker moves its JobResult in (a job's outputs may be tens of MiB).
inline json EncodeJobResult(engine::JobResult r) {
  return wire::EncodeJobResult(std::move(r), wire::OutputForm::kBase64WhenNotUtf8);
}
using wire::RawOutput;
// A result for a job the engine could not run, or that was lost to a crash: status SE.
json ErrorResult(const std::string& message);
// The JobResult object of docs/api.md for a stored job (any state).
json EncodeJobRecord(const store::JobRecord& record);

// Tolerant field access: the default when the key is missing, null or of another type.
// (nlohmann's value() throws on a null or mistyped field, which must never reach a worker thread.)
std::string JStr(const json& j, const char* key, const std::string& def = "");
int64_t JInt(const json& j, const char* key, int64_t def = 0);
bool JBool(const json& j, const char* key, bool def = false);

// RFC 3339 UTC with milliseconds: "2026-11-28T10:00:00.123Z".
std::string Iso8601(int64_t unix_ms);
int64_t NowUnixMs();

// wire/text.h: standard base64 out; standard, URL-safe and MIME-wrapped base64 in.
using wire::Base64Decode;
using wire::Base64Encode;

}  // namespace runbox::server
