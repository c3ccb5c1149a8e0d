#include "wire/result_json.h"

#include <cstdint>
#include <type_traits>
#include <utility>

namespace runbox::wire {

using json = nlohmann::json;

namespace {

json EncodeOutput(std::string data, const char* key, OutputForm form, json* result) {
  if (form == OutputForm::kBase64WhenNotUtf8 && !IsValidUtf8(data)) {
    (*result)[std::string(key) + "_encoding"] = "base64";
    return Base64Encode(data);
  }
  return data;  // moved: a returned parameter is an rvalue (C++20, P1825)
}

// Sets *out from j[key] when that is of *out's type (for integers: and in its range), else
// leaves it: a stored result never makes the decoder throw.
template <typename T>
void ReadField(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) {
    return;
  }
  if constexpr (std::is_same_v<T, std::string>) {
    if (it->is_string()) {
      *out = it->template get<std::string>();
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    if (it->is_boolean()) {
      *out = it->template get<bool>();
    }
  } else if (it->is_number_unsigned()) {
    const uint64_t v = it->template get<uint64_t>();
    if (std::in_range<T>(v)) {
      *out = static_cast<T>(v);
    }
  } else if (it->is_number_integer()) {
    const int64_t v = it->template get<int64_t>();
    if (std::in_range<T>(v)) {
      *out = static_cast<T>(v);
    }
  }
}

// A stored Result's outputs as text, in place.
void PresentStoredResult(json* result) {
  if (!result->is_object()) {
    return;
  }
  for (const char* key : {"stdout", "stderr"}) {
    const std::string encoding = std::string(key) + "_encoding";
    if (result->contains(encoding)) {
      (*result)[key] = RawOutput(*result, key);
      result->erase(encoding);
    }
  }
}

}  // namespace

json EncodeResult(sandbox::Outcome o, OutputForm form) {
  json j = {{"status", sandbox::StatusCode(o.status)},
            {"exit_code", o.exit_code},
            {"signal", o.signal},
            {"cpu_time_ms", o.cpu_time_ms},
            {"wall_time_ms", o.wall_time_ms},
            {"memory_kib", o.memory_kib},
            {"stdout_truncated", o.stdout_truncated},
            {"stderr_truncated", o.stderr_truncated},
            {"message", std::move(o.message)}};
  j["stdout"] = EncodeOutput(std::move(o.stdout_data), "stdout", form, &j);
  j["stderr"] = EncodeOutput(std::move(o.stderr_data), "stderr", form, &j);
  return j;
}

sandbox::Outcome DecodeResult(const json& result) {
  sandbox::Outcome o;
  if (!result.is_object()) {
    return o;
  }
  std::string status;
  ReadField(result, "status", &status);
  if (!ParseStatusCode(status, &o.status)) {
    o.status = sandbox::RunStatus::kSystemError;
  }
  ReadField(result, "exit_code", &o.exit_code);
  ReadField(result, "signal", &o.signal);
  ReadField(result, "cpu_time_ms", &o.cpu_time_ms);
  ReadField(result, "wall_time_ms", &o.wall_time_ms);
  ReadField(result, "memory_kib", &o.memory_kib);
  ReadField(result, "stdout_truncated", &o.stdout_truncated);
  ReadField(result, "stderr_truncated", &o.stderr_truncated);
  ReadField(result, "message", &o.message);
  o.stdout_data = RawOutput(result, "stdout");
  o.stderr_data = RawOutput(result, "stderr");
  return o;
}

const json* FirstCaseResult(const json& job_result) {
  if (!job_result.is_object()) {
    return nullptr;
  }
  auto cases = job_result.find("cases");
  if (cases == job_result.end() || !cases->is_array() || cases->empty() ||
      !cases->front().is_object()) {
    return nullptr;
  }
  auto result = cases->front().find("result");
  return result == cases->front().end() ? nullptr : &*result;
}

std::string RawOutput(const json& result, const char* key) {
  if (!result.is_object()) {
    return "";
  }
  std::string value;
  std::string encoding;
  ReadField(result, key, &value);
  ReadField(result, (std::string(key) + "_encoding").c_str(), &encoding);
  if (encoding == "base64") {
    std::string decoded;
    if (Base64Decode(value, &decoded)) {
      return decoded;
    }
  }
  return value;
}

bool ParseStatusCode(std::string_view code, sandbox::RunStatus* out) {
  // Every RunStatus, so that the names stay StatusCode()'s alone.
  for (auto s : {sandbox::RunStatus::kOk, sandbox::RunStatus::kRuntimeError,
                 sandbox::RunStatus::kSignaled, sandbox::RunStatus::kTimeLimit,
                 sandbox::RunStatus::kMemoryLimit, sandbox::RunStatus::kOutputLimit,
                 sandbox::RunStatus::kSystemError}) {
    if (code == sandbox::StatusCode(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

std::string OverallStatus(const engine::JobResult& r) {
  if (r.compile_error) {
    return "CE";
  }
  bool judged = false;
  bool wrong = false;
  for (const auto& c : r.cases) {
    if (c.run.status != sandbox::RunStatus::kOk) {
      return sandbox::StatusCode(c.run.status);
    }
    judged = judged || c.verdict != engine::Verdict::kNone;
    wrong = wrong || c.verdict == engine::Verdict::kWrongAnswer;
  }
  if (judged) {
    return wrong ? "WA" : "AC";
  }
  return "OK";
}

json EncodeJobResult(engine::JobResult r, OutputForm form) {
  const std::string status = OverallStatus(r);  // before the outputs move out
  json cases = json::array();
  for (auto& c : r.cases) {
    json cj = {{"result", EncodeResult(std::move(c.run), form)}};
    switch (c.verdict) {
      case engine::Verdict::kNone: cj["verdict"] = nullptr; break;
      case engine::Verdict::kAccepted: cj["verdict"] = "AC"; break;
      case engine::Verdict::kWrongAnswer:
        cj["verdict"] = "WA";
        cj["difference"] = std::move(c.difference);
        break;
    }
    cases.push_back(std::move(cj));
  }
  json out = json::object();
  out["language"] = std::move(r.language);
  out["version"] = std::move(r.version);
  out["compile"] = r.compile ? EncodeResult(std::move(*r.compile), form) : json(nullptr);
  out["compile_cached"] = r.compile_cached;
  out["status"] = status;
  out["cases"] = std::move(cases);
  return out;
}

void PresentStoredJobResult(json* job_result) {
  if (!job_result->is_object()) {
    return;
  }
  if (auto it = job_result->find("compile"); it != job_result->end()) {
    PresentStoredResult(&*it);
  }
  auto cases = job_result->find("cases");
  if (cases == job_result->end() || !cases->is_array()) {
    return;
  }
  for (auto& c : *cases) {
    if (c.is_object()) {
      if (auto it = c.find("result"); it != c.end()) {
        PresentStoredResult(&*it);
      }
    }
  }
}

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace runbox::wire
