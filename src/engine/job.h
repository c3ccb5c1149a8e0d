#pragma once
// Job and JobResult: the engine's contract with its front doors (CLI `runbox run`, the HTTP API).
// Plain data; the JSON shapes in docs/api.md mirror these field names.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/outcome.h"
#include "sandbox/policy.h"

namespace runbox::engine {

struct File {
  std::string name;     // relative path inside /box, no "..": "main.cpp", "lib/util.h"
  std::string content;  // raw bytes (decoded from base64 by the API layer when asked)
};

enum class CompareMode {
  kExact,             // byte for byte
  kTrailingWhitespace,// default: ignore trailing spaces on each line and trailing blank lines
  kTokens,            // whitespace-separated tokens must be equal
  kFloat,             // tokens; numbers equal within abs or rel tolerance
};

// One field of sandbox::Limits, for saying which fields a job's client set.
enum class LimitField : uint16_t {
  kCpuTime = 1 << 0,
  kWallTime = 1 << 1,
  kMemory = 1 << 2,
  kPids = 1 << 3,
  kOutput = 1 << 4,
  kFileSize = 1 << 5,
  kDisk = 1 << 6,
  kOpenFiles = 1 << 7,
  kStack = 1 << 8,
};

// A set of LimitFields. Default: every field (a job that passes a whole sandbox::Limits asks for
// all of it); decoders of requests that fill unnamed fields with defaults start from None().
class LimitFields {
 public:
  static constexpr LimitFields All() { return LimitFields(0x1ff); }
  static constexpr LimitFields None() { return LimitFields(0); }
  constexpr LimitFields() : bits_(0x1ff) {}
  constexpr LimitFields& Add(LimitField f) {
    bits_ |= static_cast<uint16_t>(f);
    return *this;
  }
  // By the API's name ("cpu_time_ms", "memory_kib", ...: docs/api.md). False for another name.
  bool Add(std::string_view api_name);
  constexpr bool Has(LimitField f) const { return (bits_ & static_cast<uint16_t>(f)) != 0; }
  bool Has(std::string_view api_name) const;
  friend constexpr bool operator==(LimitFields, LimitFields) = default;

 private:
  explicit constexpr LimitFields(uint16_t bits) : bits_(bits) {}
  uint16_t bits_;
};

struct TestCase {
  std::string stdin_data;
  std::optional<std::string> expected_output;  // absent: run only, no verdict
};

struct Job {
  std::string language;                 // catalog id or alias: "cpp", "python3", "py"
  std::string version;                  // optional; empty means the installed one
  std::vector<File> files;              // files[0] is the main file unless main_file is set
  std::string main_file;                // optional override of which file is the entry point
  std::vector<std::string> args;        // command-line arguments of the program
  std::vector<std::string> compiler_options;  // appended to the compile command
  std::vector<TestCase> tests;          // at least one; a plain run is one case without expected
  CompareMode compare = CompareMode::kTrailingWhitespace;
  double float_tolerance = 1e-6;        // for kFloat
  // Limits asked for. A field the client set (in *_given) is the limit, exactly: above the
  // engine's maximum it is a kInvalidArgument naming the field. Every other field is the engine's
  // default raised by the language's adjustments (a JVM's memory and threads), then clamped to
  // the maximum. Unset: no field was given.
  std::optional<sandbox::Limits> run_limits;
  LimitFields run_limits_given;
  std::optional<sandbox::Limits> compile_limits;
  LimitFields compile_limits_given;
  bool network_loopback = false;        // DANGER-free: only a private loopback
};

enum class Verdict { kNone, kAccepted, kWrongAnswer };

struct CaseResult {
  sandbox::Outcome run;       // status OK/RE/SG/TLE/MLE/OLE/SE, times, memory, output
  Verdict verdict = Verdict::kNone;  // AC/WA when expected output was given and the run was OK
  std::string difference;     // first difference for WA: "line 3: expected '5', got '6'"
};

struct JobResult {
  std::string language;       // resolved id
  std::string version;        // runtime version string
  std::optional<sandbox::Outcome> compile;  // absent for interpreted languages
  bool compile_cached = false;
  bool compile_error = false; // CE: the compile step did not produce a runnable artifact
  std::vector<CaseResult> cases;  // empty when compile_error
};

}  // namespace runbox::engine
