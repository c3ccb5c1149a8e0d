#include "server/codec.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <set>

namespace runbox::server {

ApiError BadRequest(const std::string& field, const std::string& message) {
  return {400, "invalid_argument", field.empty() ? message : field + ": " + message, field};
}

ApiError LimitExceeded(const std::string& field, const std::string& message) {
  return {422, "limit_exceeded", field + ": " + message, field};
}

ApiError NotFoundError(const std::string& message) { return {404, "not_found", message, ""}; }

ApiError FromError(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return {400, "invalid_argument", error.message, ""};
    case ErrorCode::kNotFound: return {404, "not_found", error.message, ""};
    case ErrorCode::kPermissionDenied: return {403, "forbidden", error.message, ""};
    case ErrorCode::kResourceExhausted:
      // A full disk is not a full queue: retrying soon will not help, and the operator must act.
      if (error.sys_errno == ENOSPC) {
        return {507, "storage_full", "the server's disk is full: " + error.message, ""};
      }
      return {503, "queue_full", error.message, ""};
    case ErrorCode::kUnavailable: return {503, "unavailable", error.message, ""};
    case ErrorCode::kInternal: return {500, "internal", error.message, ""};
  }
  return {500, "internal", error.message, ""};
}

size_t JsonNestingDepth(const std::string& text, size_t limit) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) {
        return deepest;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

bool ParseJsonBody(const std::string& body, json* out, ApiError* err, const char* what) {
  // Before the parser: the value nlohmann would build is what recurses when copied or dumped.
  if (JsonNestingDepth(body) > kMaxJsonDepth) {
    *out = json();
    *err = BadRequest("", std::string(what) + " nests arrays/objects deeper than " +
                              std::to_string(kMaxJsonDepth) + " levels");
    return false;
  }
  *out = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded()) {
    // Find the position for a helpful message; parsing again with exceptions is the only way
    // nlohmann reports it, and this is the error path only (the depth is bounded above).
    std::string where;
    try {
      json ignored = json::parse(body);
      (void)ignored;
    } catch (const std::exception& e) {
      where = std::string(": ") + e.what();
    }
    *out = json();
    *err = BadRequest("", std::string(what) + " is not valid JSON" + where);
    return false;
  }
  return true;
}

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = Dump(body);
  return r;
}

HttpResponse NativeError(const ApiError& e) {
  json err = {{"code", e.code}, {"message", e.message}};
  if (!e.field.empty()) {
    err["field"] = e.field;
  }
  return JsonResponse(e.status, json{{"error", err}});
}

namespace {

bool StringArray(const json& j, const std::string& field, std::vector<std::string>* out,
                 ApiError* err) {
  if (!j.is_array()) {
    *err = BadRequest(field, "expected an array of strings");
    return false;
  }
  if (j.size() > kMaxArgs) {
    *err = BadRequest(field, "at most " + std::to_string(kMaxArgs) + " entries");
    return false;
  }
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) {
      *err = BadRequest(field + "[" + std::to_string(i) + "]", "expected a string");
      return false;
    }
    out->push_back(j[i].get<std::string>());
  }
  return true;
}

// The fields a Limits object names (DecodeLimits fills the others with defaults): for the
// engine, a named field is the limit, the others are defaults a language may raise.
engine::LimitFields GivenLimitFields(const json& j) {
  engine::LimitFields given = engine::LimitFields::None();
  for (const auto& [key, v] : j.items()) {
    if (!v.is_null()) {
      given.Add(std::string_view(key));
    }
  }
  return given;
}

}  // namespace

bool DecodeLimits(const json& j, const std::string& field, const LimitsPolicy& policy,
                  sandbox::Limits* out, ApiError* err) {
  *out = policy.defaults;
  if (j.is_null()) {
    return true;
  }
  if (!j.is_object()) {
    *err = BadRequest(field, "expected an object");
    return false;
  }
  const sandbox::Limits& max = policy.max;
  for (const auto& [key, v] : j.items()) {
    std::string f = field + "." + key;
    if (v.is_null()) {
      continue;
    }
    // Each limit's lower bound is what a box accepts (kMinMemoryBytes, ...), so a request the
    // sandbox would refuse is the client's 400 here, never a run that ends in SE.
    uint64_t minimum = 1;
    if (key == "memory_kib") {
      minimum = kMinMemoryBytes / 1024;
    } else if (key == "disk_bytes") {
      minimum = kMinDiskBytes;
    }
    int64_t parsed = 0;
    switch (ToBoundedInt(v, 1, static_cast<int64_t>(minimum), INT64_MAX / 1024,
                         /*strings_ok=*/false, &parsed)) {
      case NumberCheck::kOk: break;
      case NumberCheck::kNotANumber:
        *err = BadRequest(f, "expected a positive integer");
        return false;
      case NumberCheck::kBelow:
        *err = BadRequest(f, minimum == 1 ? std::string("expected a positive integer")
                                          : "must be at least " + std::to_string(minimum) +
                                                (key == "memory_kib" ? " KiB (4 MiB)" : " bytes"));
        return false;
      case NumberCheck::kAbove:
        *err = LimitExceeded(f, "is far above any maximum");
        return false;
    }
    const uint64_t n = static_cast<uint64_t>(parsed);
    auto check = [&](uint64_t value, uint64_t maximum, const char* unit) {
      if (value > maximum) {
        *err = LimitExceeded(f, "must be at most " + std::to_string(maximum) + unit);
        return false;
      }
      return true;
    };
    if (key == "cpu_time_ms") {
      if (!check(n, static_cast<uint64_t>(max.cpu_time.count()), " ms")) {
        return false;
      }
      out->cpu_time = std::chrono::milliseconds(n);
    } else if (key == "wall_time_ms") {
      if (!check(n, static_cast<uint64_t>(max.wall_time.count()), " ms")) {
        return false;
      }
      out->wall_time = std::chrono::milliseconds(n);
    } else if (key == "memory_kib") {
      if (!check(n, max.memory_bytes / 1024, " KiB")) {
        return false;
      }
      out->memory_bytes = n * 1024;
    } else if (key == "pids") {
      if (!check(n, max.pids, "")) {
        return false;
      }
      out->pids = static_cast<uint32_t>(n);
    } else if (key == "output_bytes") {
      if (!check(n, max.output_bytes, " bytes")) {
        return false;
      }
      out->output_bytes = n;
    } else if (key == "file_size_bytes") {
      if (!check(n, max.file_size_bytes, " bytes")) {
        return false;
      }
      out->file_size_bytes = n;
    } else if (key == "disk_bytes") {
      if (!check(n, max.disk_bytes, " bytes")) {
        return false;
      }
      out->disk_bytes = n;
    } else {
      *err = BadRequest(f, "unknown limit (known: cpu_time_ms, wall_time_ms, memory_kib, pids, "
                           "output_bytes, file_size_bytes, disk_bytes)");
      return false;
    }
  }
  return true;
}

json EncodeLimits(const sandbox::Limits& l) {
  return {{"cpu_time_ms", l.cpu_time.count()},
          {"wall_time_ms", l.wall_time.count()},
          {"memory_kib", l.memory_bytes / 1024},
          {"pids", l.pids},
          {"output_bytes", l.output_bytes},
          {"file_size_bytes", l.file_size_bytes},
          {"disk_bytes", l.disk_bytes}};
}

std::string FileNameProblem(const std::string& name) {
  if (name.empty()) {
    return "must not be empty";
  }
  if (name.size() > 255) {
    return "at most 255 bytes";
  }
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      // NUL would cut the name short in the kernel; newlines and other control bytes break
      // every line-based listing and log of the box's files.
      return "must not contain NUL, newline or other control characters";
    }
    if (c == '\\') {
      return "must not contain a backslash";
    }
  }
  if (name[0] == '/' || name.back() == '/') {
    return "must be a relative path without '..' or empty parts";
  }
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t slash = name.find('/', pos);
    if (slash == std::string::npos) {
      slash = name.size();
    }
    std::string_view seg(name.data() + pos, slash - pos);
    if (seg.empty() || seg == "." || seg == "..") {
      return "must be a relative path without '..' or empty parts";
    }
    pos = slash + 1;
  }
  return "";
}

bool ValidFileName(const std::string& name) { return FileNameProblem(name).empty(); }

bool CheckArgv(const std::vector<std::string>& words, const std::string& field,
               size_t* total_bytes, ApiError* err) {
  if (words.size() > kMaxArgs) {
    *err = BadRequest(field, "at most " + std::to_string(kMaxArgs) + " arguments");
    return false;
  }
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].find('\0') != std::string::npos) {
      *err = BadRequest(field + "[" + std::to_string(i) + "]",
                        "must not contain a NUL byte (an argument ends at NUL)");
      return false;
    }
    *total_bytes += words[i].size() + 1;
    if (*total_bytes > kMaxArgBytes) {
      *err = BadRequest(field, "arguments and compiler options together are at most " +
                                   std::to_string(kMaxArgBytes) + " bytes");
      return false;
    }
  }
  return true;
}

namespace {

// A plain decimal as forms send numbers: [+-]digits[.digits][(e|E)[+-]digits], with at least one
// digit before the exponent. strtod alone would also take "nan", "inf", "0x1p3" and leading
// spaces.
bool PlainDecimal(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && (s[i] == '+' || s[i] == '-')) {
    ++i;
  }
  size_t digits = 0;
  while (i < n && s[i] >= '0' && s[i] <= '9') {
    ++i;
    ++digits;
  }
  if (i < n && s[i] == '.') {
    ++i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      ++i;
      ++digits;
    }
  }
  if (digits == 0) {
    return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      ++i;
    }
    size_t exp_digits = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      ++i;
      ++exp_digits;
    }
    if (exp_digits == 0) {
      return false;
    }
  }
  return i == n;
}

}  // namespace

NumberCheck ToBoundedInt(const json& v, double scale, int64_t min, int64_t max, bool strings_ok,
                         int64_t* out) {
  if (v.is_number_integer() && scale == 1) {
    // Exact for integers beyond 2^53 too.
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(max)) {
        return NumberCheck::kAbove;
      }
      if (static_cast<int64_t>(u) < min) {
        return NumberCheck::kBelow;
      }
      *out = static_cast<int64_t>(u);
      return NumberCheck::kOk;
    }
    int64_t i = v.get<int64_t>();
    if (i < min) {
      return NumberCheck::kBelow;
    }
    if (i > max) {
      return NumberCheck::kAbove;
    }
    *out = i;
    return NumberCheck::kOk;
  }
  double d;
  if (v.is_number()) {
    d = v.get<double>();
  } else if (strings_ok && v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (!PlainDecimal(s)) {
      return NumberCheck::kNotANumber;
    }
    d = std::strtod(s.c_str(), nullptr);
  } else {
    return NumberCheck::kNotANumber;
  }
  d *= scale;
  if (!std::isfinite(d)) {
    // 1e400 parses to infinity; an overflow of d * scale too. Either is "not a number we take".
    return NumberCheck::kNotANumber;
  }
  d = std::nearbyint(d);
  // Compared as doubles first: only a value inside [min, max] is ever cast.
  if (d < static_cast<double>(min)) {
    return NumberCheck::kBelow;
  }
  if (d > static_cast<double>(max) || d >= 9223372036854775808.0 /* 2^63 */) {
    return NumberCheck::kAbove;
  }
  int64_t i = static_cast<int64_t>(d);
  // static_cast<double>(INT64_MAX) rounds up to 2^63: clamp the edge back into range.
  *out = std::clamp(i, min, max);
  return NumberCheck::kOk;
}

bool HexDecode(const std::string& in, std::string* out) {
  out->clear();
  if (in.size() % 2 != 0) {
    return false;
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  out->reserve(in.size() / 2);
  for (size_t i = 0; i < in.size(); i += 2) {
    int hi = nibble(in[i]);
    int lo = nibble(in[i + 1]);
    if (hi < 0 || lo < 0) {
      out->clear();
      return false;
    }
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

bool DecodeJobRequest(const json& j, const LimitsPolicy& policy, const DecodeOptions& options,
                      engine::Job* out, ApiError* err) {
  if (!j.is_object()) {
    *err = BadRequest("", "expected a JSON object");
    return false;
  }
  static const char* const kKnown[] = {
      "language", "version",  "files",           "main_file", "stdin",          "tests",
      "compare",  "float_tolerance", "args",     "compiler_options", "limits", "compile_limits",
      "type"};
  for (const auto& [key, v] : j.items()) {
    bool known = false;
    for (const char* k : kKnown) {
      if (key == k) {
        known = true;
        break;
      }
    }
    if (!known) {
      *err = BadRequest(key, "unknown field");
      return false;
    }
  }
  engine::Job job;
  if (!j.contains("language") || !j["language"].is_string() ||
      j["language"].get<std::string>().empty()) {
    *err = BadRequest("language", "required, a language id such as \"python3\"");
    return false;
  }
  job.language = j["language"].get<std::string>();
  if (j.contains("version") && !j["version"].is_null()) {
    if (!j["version"].is_string()) {
      *err = BadRequest("version", "expected a string");
      return false;
    }
    job.version = j["version"].get<std::string>();
  }
  if (!j.contains("files") || !j["files"].is_array() || j["files"].empty()) {
    *err = BadRequest("files", "required, a non-empty array of {name, content}");
    return false;
  }
  const json& files = j["files"];
  if (files.size() > options.max_files) {
    *err = BadRequest("files", "at most " + std::to_string(options.max_files) + " files");
    return false;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string f = "files[" + std::to_string(i) + "]";
    const json& file = files[i];
    if (!file.is_object()) {
      *err = BadRequest(f, "expected an object {name, content, encoding}");
      return false;
    }
    engine::File ef;
    if (!file.contains("name") || !file["name"].is_string()) {
      *err = BadRequest(f + ".name", "required, a string");
      return false;
    }
    ef.name = file["name"].get<std::string>();
    if (std::string problem = FileNameProblem(ef.name); !problem.empty()) {
      *err = BadRequest(f + ".name", problem);
      return false;
    }
    // A set, not a scan of the files so far: n log n for any number of files.
    if (!names.insert(ef.name).second) {
      *err = BadRequest(f + ".name", "the same name appears twice");
      return false;
    }
    if (!file.contains("content") || !file["content"].is_string()) {
      *err = BadRequest(f + ".content", "required, a string");
      return false;
    }
    std::string encoding = "utf8";
    if (file.contains("encoding") && !file["encoding"].is_null()) {
      if (!file["encoding"].is_string()) {
        *err = BadRequest(f + ".encoding", "expected \"utf8\" or \"base64\"");
        return false;
      }
      encoding = file["encoding"].get<std::string>();
    }
    if (encoding == "utf8" || encoding == "utf-8") {
      ef.content = file["content"].get<std::string>();
    } else if (encoding == "base64") {
      if (!Base64Decode(file["content"].get<std::string>(), &ef.content)) {
        *err = BadRequest(f + ".content", "not valid base64");
        return false;
      }
    } else {
      *err = BadRequest(f + ".encoding", "expected \"utf8\" or \"base64\"");
      return false;
    }
    job.files.push_back(std::move(ef));
  }
  if (j.contains("main_file") && !j["main_file"].is_null()) {
    if (!j["main_file"].is_string()) {
      *err = BadRequest("main_file", "expected a string");
      return false;
    }
    job.main_file = j["main_file"].get<std::string>();
    if (!names.count(job.main_file)) {
      *err = BadRequest("main_file", "names no file in files");
      return false;
    }
  }
  bool has_stdin = j.contains("stdin") && !j["stdin"].is_null();
  bool has_tests = j.contains("tests") && !j["tests"].is_null();
  if (has_stdin && has_tests) {
    *err = BadRequest("tests", "give either stdin or tests, not both");
    return false;
  }
  if (has_tests && !options.allow_tests) {
    *err = BadRequest("tests", "an interactive run takes no tests");
    return false;
  }
  if (has_stdin) {
    if (!j["stdin"].is_string()) {
      *err = BadRequest("stdin", "expected a string");
      return false;
    }
    job.tests.push_back({j["stdin"].get<std::string>(), std::nullopt});
  } else if (has_tests) {
    const json& tests = j["tests"];
    if (!tests.is_array() || tests.empty()) {
      *err = BadRequest("tests", "expected a non-empty array of {stdin, expected_output}");
      return false;
    }
    if (tests.size() > options.max_tests) {
      *err = BadRequest("tests", "at most " + std::to_string(options.max_tests) + " tests");
      return false;
    }
    for (size_t i = 0; i < tests.size(); ++i) {
      std::string f = "tests[" + std::to_string(i) + "]";
      const json& t = tests[i];
      if (!t.is_object()) {
        *err = BadRequest(f, "expected an object {stdin, expected_output}");
        return false;
      }
      engine::TestCase tc;
      if (t.contains("stdin") && !t["stdin"].is_null()) {
        if (!t["stdin"].is_string()) {
          *err = BadRequest(f + ".stdin", "expected a string");
          return false;
        }
        tc.stdin_data = t["stdin"].get<std::string>();
      }
      if (t.contains("expected_output") && !t["expected_output"].is_null()) {
        if (!t["expected_output"].is_string()) {
          *err = BadRequest(f + ".expected_output", "expected a string");
          return false;
        }
        tc.expected_output = t["expected_output"].get<std::string>();
      }
      job.tests.push_back(std::move(tc));
    }
  } else {
    job.tests.push_back({"", std::nullopt});
  }
  if (j.contains("compare") && !j["compare"].is_null()) {
    std::string c = j["compare"].is_string() ? j["compare"].get<std::string>() : "";
    if (c == "exact") {
      job.compare = engine::CompareMode::kExact;
    } else if (c == "trailing_whitespace") {
      job.compare = engine::CompareMode::kTrailingWhitespace;
    } else if (c == "tokens") {
      job.compare = engine::CompareMode::kTokens;
    } else if (c == "float") {
      job.compare = engine::CompareMode::kFloat;
    } else {
      *err = BadRequest("compare", "expected exact, trailing_whitespace, tokens or float");
      return false;
    }
  }
  if (j.contains("float_tolerance") && !j["float_tolerance"].is_null()) {
    if (!j["float_tolerance"].is_number() || !std::isfinite(j["float_tolerance"].get<double>()) ||
        j["float_tolerance"].get<double>() < 0) {
      *err = BadRequest("float_tolerance", "expected a non-negative number");
      return false;
    }
    job.float_tolerance = j["float_tolerance"].get<double>();
  }
  if (j.contains("args") && !j["args"].is_null() &&
      !StringArray(j["args"], "args", &job.args, err)) {
    return false;
  }
  if (j.contains("compiler_options") && !j["compiler_options"].is_null() &&
      !StringArray(j["compiler_options"], "compiler_options", &job.compiler_options, err)) {
    return false;
  }
  size_t argv_bytes = 0;
  if (!CheckArgv(job.args, "args", &argv_bytes, err) ||
      !CheckArgv(job.compiler_options, "compiler_options", &argv_bytes, err)) {
    return false;
  }
  if (j.contains("limits") && !j["limits"].is_null()) {
    sandbox::Limits l;
    if (!DecodeLimits(j["limits"], "limits", policy, &l, err)) {
      return false;
    }
    job.run_limits = l;
    job.run_limits_given = GivenLimitFields(j["limits"]);
  }
  if (j.contains("compile_limits") && !j["compile_limits"].is_null()) {
    sandbox::Limits l;
    if (!DecodeLimits(j["compile_limits"], "compile_limits", policy, &l, err)) {
      return false;
    }
    job.compile_limits = l;
    job.compile_limits_given = GivenLimitFields(j["compile_limits"]);
  }
  *out = std::move(job);
  return true;
}

json ErrorResult(const std::string& message) {
  return {{"compile", nullptr}, {"compile_cached", false}, {"status", "SE"},
          {"message", message}, {"cases", json::array()}};
}

json EncodeJobRecord(const store::JobRecord& record) {
  json out = json::object();
  out["id"] = record.id;
  out["state"] = store::JobStateName(record.state);
  json request = json::parse(record.request_json, nullptr, false);
  if (record.state == store::JobState::kDone) {
    json result = json::parse(record.result_json, nullptr, false);
    if (result.is_object()) {
      wire::PresentStoredJobResult(&result);
      for (auto& [k, v] : result.items()) {
        out[k] = std::move(v);  // the cases hold every output: moved, not copied
      }
    } else {
      out["status"] = "SE";
      out["message"] = "the stored result is unreadable";
    }
  } else if (request.is_object() && request.contains("language")) {
    out["language"] = request["language"];
  }
  out["created_at"] = Iso8601(record.created_at_ms);
  if (record.started_at_ms) {
    out["started_at"] = Iso8601(record.started_at_ms);
  }
  out["finished_at"] = record.finished_at_ms ? json(Iso8601(record.finished_at_ms)) : json(nullptr);
  return out;
}

std::string JStr(const json& j, const char* key, const std::string& def) {
  if (!j.is_object()) {
    return def;
  }
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : def;
}

int64_t JInt(const json& j, const char* key, int64_t def) {
  if (!j.is_object()) {
    return def;
  }
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) {
    return def;
  }
  return it->is_number_float() ? static_cast<int64_t>(it->get<double>()) : it->get<int64_t>();
}

bool JBool(const json& j, const char* key, bool def) {
  if (!j.is_object()) {
    return def;
  }
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}

std::string Iso8601(int64_t unix_ms) {
  time_t secs = static_cast<time_t>(unix_ms / 1000);
  struct tm tm_utc;
  gmtime_r(&secs, &tm_utc);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm_utc.tm_year + 1900,
                tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace runbox::server
