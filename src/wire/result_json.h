#pragma once
// The one JSON encoder of a run's Result and of a JobResult (docs/api.md "Result", "JobResult"),
// shared by every front door: `runbox exec --json` (Result), `runbox run --json` and the native
// API (JobResult), the server's store (the same shape, outputs kept as bytes). Piston, Judge0 and
// paiza.IO keep their own field names but read status, exit code, signal, times and memory from
// DecodeResult(), never from the JSON themselves. Here, below cli/ and server/, because the
// sandbox-only `runbox` binary links it: it needs nlohmann and sandbox::StatusCode, nothing of
// the server or the engine's code (engine/job.h is plain data).
//
// A Result's "exit_code" is the code the program exited with, -1 when it did not exit (killed by
// a signal, or never started); "signal" is the signal that ended it, 0 when it exited. Both are
// always integers, as docs/api.md's schema says: a client never has to test for null.
//
// Output that is not valid UTF-8: on the wire (kText) the bytes go in as they are and the
// serializer replaces the invalid ones with U+FFFD (server::Dump, and the CLI's dump, use
// error_handler_t::replace), which is what docs/api.md promises every client. The server's store
// keeps the bytes (kBase64WhenNotUtf8: "stdout" base64, "stdout_encoding": "base64") and
// presents them as text when read (PresentStoredJobResult); the CLI keeps nothing, so it prints
// the wire form directly.
//
// Nothing here throws on input it did not make: the decoders take whatever a store holds.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/job.h"
#include "sandbox/outcome.h"
#include "wire/text.h"

namespace runbox::wire {

enum class OutputForm {
  kText,               // the wire: "stdout" and "stderr" as text
  kBase64WhenNotUtf8,  // the store: an output that is not UTF-8 is base64, with "<key>_encoding"
};

// The Result of one sandboxed process. Takes the outcome by value so that a caller done with it
// moves its outputs in (a job's output may be tens of MiB): nothing here copies a whole output.
nlohmann::json EncodeResult(sandbox::Outcome o, OutputForm form = OutputForm::kText);

// A Result object read back, in either form, as the Outcome it encodes (base64 outputs decoded
// to their bytes). A field that is missing or of another type keeps Outcome's default (status
// SE, exit_code -1, signal 0, times 0, no output), so a stand-in such as {"status": "SE",
// "message": "..."} or a value that is not an object decodes too.
sandbox::Outcome DecodeResult(const nlohmann::json& result);

// The Result object of a JobResult object's first case, or nullptr when it has none (CE, SE, or
// not a JobResult): what the compatibility APIs report as "the run".
const nlohmann::json* FirstCaseResult(const nlohmann::json& job_result);

// The bytes of `key` ("stdout", "stderr") of a Result object in either form; "" when absent.
std::string RawOutput(const nlohmann::json& result, const char* key);

// The RunStatus whose StatusCode() is `code` ("TLE" -> kTimeLimit). false for another string.
bool ParseStatusCode(std::string_view code, sandbox::RunStatus* out);

// CE when the compile failed; else the first case that is not OK; else AC/WA when judged; else OK.
std::string OverallStatus(const engine::JobResult& r);

// The JobResult without the fields only a stored job has (id, state, times): language, version,
// compile, compile_cached, status, cases. "difference" is present for WA only. By value, as
// EncodeResult: move a JobResult in when done with it.
nlohmann::json EncodeJobResult(engine::JobResult r, OutputForm form = OutputForm::kText);

// A stored JobResult object (kBase64WhenNotUtf8) as the wire shows it (kText), in place: every
// Result in it ("compile", "cases"[i]."result") gets its outputs back as bytes and loses its
// "<key>_encoding" fields. Parts that are not of the expected shape are left as they are.
void PresentStoredJobResult(nlohmann::json* job_result);

// The JSON text a client gets: compact, with invalid UTF-8 in strings replaced by U+FFFD
// (nlohmann's default is to throw), as docs/api.md promises. Every front door prints through it.
std::string Dump(const nlohmann::json& j);

}  // namespace runbox::wire
