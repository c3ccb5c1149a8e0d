#pragma once
// Native API codec (docs/api.md): JSON <-> engine types, the error body, and the one mapping from
// runbox::Error to an HTTP status. Compatibility layers (piston.cc, judge0.cc, paiza.cc) build on
// these so that every API validates files and limits the same way.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "base/result.h"
#include "engine/job.h"
#include "server/http_types.h"
#include "store/store.h"

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

// Serializes JSON for the wire. Program output need not be UTF-8: invalid sequences become
// U+FFFD instead of failing (nlohmann's default is to throw).
std::string Dump(const json& j);
// Parses a request body; on failure a 400 naming the position.
bool ParseJsonBody(const std::string& body, json* out, ApiError* err);
bool IsValidUtf8(const std::string& s);

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

// Checks one file name: relative, no "..", no empty segment, no NUL, at most 255 bytes.
bool ValidFileName(const std::string& name);

struct DecodeOptions {
  bool allow_tests = true;  // false for interactive runs
  size_t max_files = 64;
  size_t max_tests = 256;
};

// Decodes a native JobRequest into a Job. 400 with the field on a bad value; 422 for limits
// above the maximum.
bool DecodeJobRequest(const json& j, const LimitsPolicy& policy, const DecodeOptions& options,
                      engine::Job* out, ApiError* err);

// "OK", "RE", "SG", "TLE", "MLE", "OLE", "SE" (kept here too so the server does not depend on
// the sandbox library for a name).
const char* StatusName(sandbox::RunStatus s);
json EncodeOutcome(const sandbox::Outcome& o);
// CE when the compile failed; else the first case that is not OK; else AC/WA when judged; else OK.
std::string OverallStatus(const engine::JobResult& r);
// The stored result (result_json): language, version, compile, compile_cached, status, cases.
// Output that is not valid UTF-8 is stored base64-encoded ("stdout_encoding": "base64") so that
// no byte is lost; RawOutput() reads it back, EncodeJobRecord() presents it as text.
json EncodeJobResult(const engine::JobResult& r);
// The bytes of `key` ("stdout", "stderr") of a stored Result object.
std::string RawOutput(const json& result_object, const char* key);
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

std::string Base64Encode(const std::string& in);
// Accepts standard and URL-safe alphabets, with or without padding, and ignores whitespace
// (Judge0 clients send MIME-wrapped base64). false on other characters.
bool Base64Decode(const std::string& in, std::string* out);

}  // namespace runbox::server
